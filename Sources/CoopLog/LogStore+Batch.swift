import CoopLedger
import CoopSegments
public import CoopWire
import Dispatch
import Foundation
import Synchronization

/// What became of a batch of pulled entries.
public struct BatchIngestReport: Sendable, Hashable {
    /// Entries stored (durable), including waiting successors they released.
    public var stored = 0
    public var duplicates = 0
    /// Entries waiting in memory for a gap of their origin.
    public var pending = 0
    /// Entries held for clock skew.
    public var held = 0
    /// Equivocations found (evidence stored or already held).
    public var equivocations: [String] = []
    /// Entries refused, with the reason (not authentic, chain does not fit, too many waiting).
    public var refused: [String] = []
    /// Origins with an entry that did not chain onto what the store holds (``ForkReport``): their history forked
    /// before it, at a sequence number this store already holds. Fetching that origin's entries again from the sender
    /// finds the conflicting pair and turns it into evidence.
    public var forked: Set<String> = []

    public init() {}
}

/// A batch of pulled entries whose signatures were checked (``LogStore/check(batch:)``), ready for
/// ``LogStore/admit(_:)``.
public struct CheckedBatch: Sendable {
    var verified: [VerifiedEntry] = []
    var duplicates = 0
    var refused: [String] = []
    /// Entries in the batch.
    public var count: Int { verified.count + duplicates + refused.count }
}

extension LogStore {
    /// Takes a batch of entries from a peer, as ``ingest(_:)-(SignedEntry)`` does one: ``check(batch:)`` then
    /// ``admit(_:)``. Returns once what it stored is durable. Entries that are refused are reported, not thrown; the
    /// store's own failure (a failed write) is thrown.
    public func ingest(batch entries: [SignedEntry]) async throws -> BatchIngestReport {
        try await admit(check(batch: entries))
    }

    /// The first half of ``ingest(batch:)``: verifies the signatures of `entries` on all cores (entries the store
    /// holds byte for byte are not verified again). Takes the store's lock only briefly, so a caller may check the
    /// next batch while the previous one is being admitted and made durable.
    ///
    /// **Threading.** Blocks the calling thread while the cores verify; any thread.
    public func check(batch entries: [SignedEntry]) -> CheckedBatch {
        var checked = CheckedBatch()
        checked.verified.reserveCapacity(entries.count)
        for result in Self.verifyAll(entries, with: verifier, skipping: holds) {
            switch result {
            case .verified(let v): checked.verified.append(v)
            case .held: checked.duplicates += 1
            case .refused(let error): checked.refused.append("not authentic: \(error.reason)")
            }
        }
        return checked
    }

    /// The second half of ``ingest(batch:)``: admits a checked batch under one acquisition of the store's lock and
    /// makes it durable by one group commit. Batches must be admitted in the order they were pulled (an origin's
    /// entries in sequence order); entries out of order wait for their gap as single entries do.
    public func admit(_ batch: CheckedBatch) async throws -> BatchIngestReport {
        try state.withLock { s throws in try Self.checkUsable(s) }
        var report = BatchIngestReport()
        report.duplicates = batch.duplicates
        report.refused = batch.refused
        let verified = batch.verified
        let now = options.physicalClock()
        var tickets: [AppendTicket] = []
        var conflicts: [VerifiedEntry] = []
        try state.withLock { s in
            for v in verified {
                let forks = s.forkCount
                defer { if s.forkCount != forks { report.forked.insert(v.origin) } }
                do {
                    switch try self.admit(&s, v, now: now) {
                    case .done(let ticket, let outcome):
                        if let ticket { tickets.append(ticket) }
                        report.count(outcome)
                    case .conflictsWithRecord:
                        conflicts.append(v)
                    }
                } catch let error as LogError where error.code == .refused {
                    report.refused.append(error.message)
                }
            }
        }
        // The last ticket completes last (one group commit after another, in order): once it is settled the others
        // answer without suspending.
        for ticket in tickets.reversed() { try await settle(ticket) }
        for v in conflicts {
            do {
                report.count(try await ingest(v))
            } catch let error as LogError where error.code == .refused {
                report.refused.append(error.message)
            }
        }
        if !report.equivocations.isEmpty && viewIsStale { try rebuildView() }
        if report.held < verified.count { _ = try await releaseHeldEntries() }
        return report
    }

    /// What became of one entry of a batch before admission.
    enum Checked {
        case verified(VerifiedEntry)
        /// Already held, byte for byte: no signature check needed (it was checked when stored).
        case held
        case refused(AuthenticityError)
    }

    /// For each decoded entry, whether the store already holds exactly it: its origin's entry at its sequence number
    /// has the same id (the hash of the same canonical bytes). Such a duplicate (the same range pulled from two peers,
    /// a notice racing a round) skips the signature check; anything else, including a different entry at that
    /// number, is verified. One acquisition of the store's lock for the whole slice.
    func holds(_ entries: [DecodedEntry?]) -> [Bool] {
        state.withLock { s in
            entries.map { decoded in
                guard let entry = decoded?.entry, let index = s.origins[entry.origin], entry.sequence <= index.count
                else { return false }
                return index.id(at: entry.sequence, in: s.view) == entry.id
            }
        }
    }

    /// Checks `entries` on all cores: each is decoded once, those `held` says the store holds are not verified
    /// again, the rest have their signatures checked. Results in the same order.
    static func verifyAll(
        _ entries: [SignedEntry],
        with verifier: EntryVerifier,
        skipping held: @escaping @Sendable ([DecodedEntry?]) -> [Bool]
    ) -> [Checked] {
        @Sendable func check(_ slice: ArraySlice<SignedEntry>) -> [Checked] {
            let decoded = slice.map { e in Result { () throws(AuthenticityError) in try verifier.decode(e) } }
            let isHeld = held(decoded.map { try? $0.get() })
            return zip(decoded, isHeld).map { decoded, isHeld -> Checked in
                if isHeld { return .held }
                switch decoded.flatMap({ d in
                    Result { () throws(AuthenticityError) in try verifier.checkSignature(of: d) }
                }) {
                case .success(let v): return .verified(v)
                case .failure(let error): return .refused(error)
                }
            }
        }
        // Threads of its own for a batch (Dispatch's shared pool kept ~1.5 of 2 cores busy: it counts the caller,
        // and other pool work, against its width); a small batch is checked on the calling thread.
        guard entries.count >= 64 else { return check(entries[...]) }
        let threads = WorkerThreads(name: "coop-verify")
        let workers = min(threads.count * 4, entries.count / 16)
        let slice = (entries.count + workers - 1) / workers
        let parts = Mutex<[Int: [Checked]]>([:])
        for w in 0..<workers {
            threads.submit {
                let range = min(entries.count, w * slice)..<min(entries.count, (w + 1) * slice)
                let out = check(entries[range])
                parts.withLock { $0[w] = out }
            }
        }
        threads.close()
        return parts.withLock { parts in (0..<workers).flatMap { parts[$0] ?? [] } }
    }
}

extension BatchIngestReport {
    mutating func count(_ outcome: IngestOutcome) {
        switch outcome {
        case .stored(_, let released): stored += 1 + released
        case .duplicate: duplicates += 1
        case .pending: pending += 1
        case .held: held += 1
        case .equivocation(let origin, let sequence): equivocations.append("\(origin)#\(sequence)")
        }
    }
}
