import CoopLedger
import CoopLog
import CoopRPC
import CoopSegments
import CoopServices
import CoopSync
import CoopWire
import Dispatch
import Logging

/// Drives one peer's ``PeerSession`` over RPC: exchanges hellos, pulls what this node lacks in verified batches,
/// backs off when the peer is unreachable, and logs what an operator needs (peer up/down, pulled N entries in T,
/// refused entries and why).
///
/// **Threading.** `Sendable`; ``run()`` is called once and returns when its task is cancelled. The session lives in
/// the ``SyncHub``; only this link performs its actions.
final class PeerLink: Sendable {
    let peer: NodeConfig.Peer
    let hub: SyncHub
    let client: SyncService.Client
    let pullBatch: Int
    private let wake = WakeSignal()

    init(peer: NodeConfig.Peer, hub: SyncHub, client: RPCClient, pullBatch: Int) {
        self.peer = peer
        self.hub = hub
        self.client = SyncService.Client(client)
        self.pullBatch = max(1, pullBatch)
    }

    var logger: Logger { hub.logger }

    func run() async {
        hub.wakers.withLock { [wake] in $0[peer.id] = { wake.signal() } }
        defer { hub.wakers.withLock { $0[peer.id] = nil } }
        while !Task.isCancelled {
            // Entries held for clock skew whose time has come are taken even when nothing else arrives.
            _ = try? await hub.store.releaseHeldEntries()
            var actions = hub.takeQueued(peer.id)
            actions += hub.withSession(peer.id) { [hub] in $0.tick(now: hub.nowMs) } ?? []
            for action in actions {
                await perform(action)
            }
            let next = hub.withSession(peer.id) { $0.nextWakeUpMs } ?? nil
            if !hub.takeQueuedIsEmpty(peer.id) { continue }
            let now = hub.nowMs
            await wake.wait(timeout: next.map { .milliseconds($0 > now ? $0 - now : 0) })
        }
    }

    private func perform(_ action: PeerSession.Action) async {
        guard !Task.isCancelled else { return }
        var next: [PeerSession.Action] = []
        switch action {
        case .exchange:
            next = await exchange()
        case .pull(let have):
            next = await pull(have: have)
        }
        for action in next { await perform(action) }
    }

    private func exchange() async -> [PeerSession.Action] {
        let hello = hub.localHello()
        do {
            let remote = try await client.exchange(hello, options: RPCCallOptions(timeout: .seconds(5)))
            hub.observe(peer: peer.id, remote: remote.versionVector ?? VersionVector())
            let local = hub.store.versionVector
            let now = hub.nowMs
            let (actions, events) =
                hub.withSession(peer.id) { $0.exchanged(remote, local: local, localHello: hello, now: now) }
                ?? ([], [])
            report(events)
            return actions
        } catch {
            fail(error)
            return []
        }
    }

    private func pull(have wanted: VersionVector) async -> [PeerSession.Action] {
        let started = ContinuousClock.now
        let before = hub.store.versionVector
        let remote = hub.withSession(peer.id) { $0.remoteVector } ?? VersionVector()
        let claimed = hub.nowMs
        let have = hub.state.withLock {
            $0.claims.claim(peer: peer.id, have: wanted, local: before, remote: remote, now: claimed)
        }
        defer { hub.state.withLock { $0.claims.release(peer: peer.id) } }
        var report = BatchIngestReport()
        var evidenceNew = 0
        var batch: [SignedEntry] = []
        batch.reserveCapacity(pullBatch)
        var admitting: Task<BatchIngestReport, any Error>?
        do {
            let perMessage = min(pullBatch, SyncProvider.maxEntriesPerMessage)
            let stream = try client.pull(
                PullRequest(have: have, limit: 0, includeEvidence: true, maxBatch: UInt32(perMessage)),
                // About two verify batches' worth of messages in flight (credit counts messages, not entries).
                options: RPCCallOptions(credit: UInt32(max(8, min(4096, pullBatch * 2 / perMessage))))
            )
            for try await message in stream {
                switch message.item {
                case .entry(let entry):
                    batch.append(entry)
                case .batch(let entries):
                    guard entries.entries.count <= perMessage else {
                        throw RPCError(
                            code: .internal,
                            message: "\(peer.id) sent \(entries.entries.count) entries in one message; asked for at "
                                + "most \(perMessage)",
                            reason: "MESSAGE_TOO_LARGE"
                        )
                    }
                    batch += entries.entries
                case .evidence(let evidence):
                    // In stream order: what came before the evidence is stored first.
                    try await ingest(&batch, after: &admitting, into: &report)
                    try await finish(&admitting, into: &report)
                    do {
                        if try await hub.store.ingest(evidence) { evidenceNew += 1 }
                    } catch let error as LogError where error.code == .notAuthentic {
                        report.refused.append(error.message)
                    }
                case nil:
                    break
                }
                if batch.count >= pullBatch { try await ingest(&batch, after: &admitting, into: &report) }
            }
            try await ingest(&batch, after: &admitting, into: &report)
            try await finish(&admitting, into: &report)
        } catch {
            // What was stored stays stored; the session backs off and the next round pulls the rest.
            try? await finish(&admitting, into: &report)
            logged(report, evidenceNew: evidenceNew, since: started, before: before)
            fail(error)
            return []
        }
        logged(report, evidenceNew: evidenceNew, since: started, before: before)
        let local = hub.store.versionVector
        hub.observe(peer: peer.id, remote: hub.withSession(peer.id) { $0.remoteVector } ?? VersionVector())
        let now = hub.nowMs
        let proven = Set(hub.store.digests.filter { $0.evidence > 0 }.map(\.origin))
        let forked = report.forked.subtracting(proven)
        if !forked.isEmpty {
            let origins = forked.sorted().joined(separator: ", ")
            logger.warning(
                "entries of \(origins) from \(peer.id) do not chain onto this node's: fetching them again to find the fork",
                metadata: ["peer": .string(peer.id)]
            )
        }
        return hub.withSession(peer.id) {
            $0.pulled(progressed: report.stored > 0, local: local, now: now, forked: forked)
        } ?? []
    }

    /// Verifies `batch` on all cores while the batch before it (`admitting`) is admitted and made durable, then
    /// starts this batch's admission: verification of one batch overlaps the fsync of the other.
    private func ingest(
        _ batch: inout [SignedEntry],
        after admitting: inout Task<BatchIngestReport, any Error>?,
        into report: inout BatchIngestReport
    ) async throws {
        guard !batch.isEmpty else { return }
        try Task.checkCancellation()
        let entries = batch
        batch.removeAll(keepingCapacity: true)
        // Off the cooperative pool: verification blocks its thread while all cores work, and the admission task of
        // the batch before needs a pool thread meanwhile.
        let checked = await withCheckedContinuation { [store = hub.store] continuation in
            DispatchQueue.global().async { continuation.resume(returning: store.check(batch: entries)) }
        }
        try await finish(&admitting, into: &report)
        admitting = Task { [hub] in
            let before = hub.store.versionVector
            let result = try await hub.store.admit(checked)
            hub.stored(batch: entries, before: before)
            return result
        }
    }

    /// Waits for the batch being admitted, if any, and adds what became of it to `report`.
    private func finish(
        _ admitting: inout Task<BatchIngestReport, any Error>?,
        into report: inout BatchIngestReport
    ) async throws {
        guard let task = admitting else { return }
        admitting = nil
        let result = try await task.value
        report.stored += result.stored
        report.duplicates += result.duplicates
        report.pending += result.pending
        report.held += result.held
        report.equivocations += result.equivocations
        report.refused += result.refused
        report.forked.formUnion(result.forked)
        let now = hub.nowMs
        hub.state.withLock {
            $0.pulled[peer.id, default: 0] += UInt64(result.stored)
            if result.stored > 0 { $0.claims.touch(peer: peer.id, now: now) }
        }
    }

    private func logged(
        _ report: BatchIngestReport,
        evidenceNew: Int,
        since started: ContinuousClock.Instant,
        before: VersionVector
    ) {
        let ms =
            Double((ContinuousClock.now - started).components.attoseconds) / 1e15
            + Double((ContinuousClock.now - started).components.seconds) * 1000
        if report.stored > 0 || evidenceNew > 0 {
            logger.info(
                "pulled \(report.stored) entries from \(peer.id) in \(Int(ms)) ms",
                metadata: [
                    "peer": .string(peer.id),
                    "stored": .stringConvertible(report.stored),
                    "duplicates": .stringConvertible(report.duplicates),
                    "evidence": .stringConvertible(evidenceNew),
                ]
            )
        }
        if evidenceNew > 0 || !report.equivocations.isEmpty { hub.onEvidence() }
        for equivocation in Set(report.equivocations).sorted() {
            let message =
                "equivocation: two different entries signed at \(equivocation); evidence stored, the origin's later "
                + "entries are set aside"
            logger.error(
                "\(message)",
                metadata: ["peer": .string(peer.id)]
            )
        }
        for refusal in report.refused.prefix(5) {
            logger.warning("refused an entry from \(peer.id): \(refusal)", metadata: ["peer": .string(peer.id)])
        }
        if report.refused.count > 5 {
            logger.warning(
                "refused \(report.refused.count - 5) more entries from \(peer.id)",
                metadata: ["peer": .string(peer.id)]
            )
        }
    }

    private func fail(_ error: any Error) {
        let now = hub.nowMs
        if let rpc = error as? RPCError, [.failedPrecondition, .permissionDenied, .unauthenticated].contains(rpc.code) {
            report(hub.withSession(peer.id) { $0.refused(code: rpc.reason, message: rpc.message, now: now) } ?? [])
            return
        }
        let reason = (error as? RPCError).map { "\($0.code) \($0.reason): \($0.message)" } ?? "\(error)"
        report(hub.withSession(peer.id) { $0.failed(reason, now: now) } ?? [])
        logger.debug("sync with \(peer.id) failed: \(reason)", metadata: ["peer": .string(peer.id)])
    }

    private func report(_ events: [PeerSession.Event]) {
        for event in events {
            switch event {
            case .up(let peer, let lag):
                logger.notice(
                    "peer \(peer) up (\(self.peer.endpoint)); this node lacks \(lag) of its entries",
                    metadata: ["peer": .string(peer)]
                )
            case .down(let peer, let reason):
                logger.warning("peer \(peer) down: \(reason)", metadata: ["peer": .string(peer)])
            case .refused(let peer, let code, let message):
                logger.error(
                    "peer \(peer) refused: \(code): \(message)",
                    metadata: ["peer": .string(peer), "reason": .string(code)]
                )
            }
        }
    }
}

extension SyncHub {
    func takeQueuedIsEmpty(_ peer: String) -> Bool { state.withLock { ($0.queued[peer] ?? []).isEmpty } }
}
