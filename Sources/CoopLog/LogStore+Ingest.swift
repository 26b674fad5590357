import CoopLedger
import CoopSegments
public import CoopWire

extension LogStore {
    /// Takes an entry from a peer. Returns once what it stored is durable.
    ///
    /// Throws ``LogError/Code/notAuthentic`` (never stored) when the entry is not authentic, and
    /// ``LogError/Code/refused`` when it is authentic but cannot be taken now: its chain does not fit (its
    /// previous hash is not the entry held before it: the origin forked earlier; also kept in ``forkReports``),
    /// too many early or held entries already wait, or the store stopped after a failed write.
    ///
    /// The store's lock is never held across file I/O: when the entry conflicts with one already durable, that
    /// entry is read from the log outside the lock. The view is refolded only when new evidence changes what is
    /// set aside, so a peer re-sending known equivocations costs nothing but a lookup.
    public func ingest(_ entry: SignedEntry) async throws -> IngestOutcome {
        let verified: VerifiedEntry
        do {
            verified = try verifier.verify(entry)
        } catch {
            throw LogError(code: .notAuthentic, message: "refused entry: \(error.reason)", cause: error)
        }
        let outcome = try await ingest(verified)
        if case .held = outcome { return outcome }
        _ = try await releaseHeldEntries()
        return outcome
    }

    /// Takes evidence of an equivocation from a peer; returns whether it was new. Throws
    /// ``LogError/Code/notAuthentic`` when it proves nothing.
    @discardableResult
    public func ingest(_ evidence: Equivocation) async throws -> Bool {
        let key: OriginSequenceKey
        do {
            let (origin, sequence) = try verifier.verify(evidence)
            key = OriginSequenceKey(origin: origin, sequence: sequence)
        } catch {
            throw LogError(code: .notAuthentic, message: "refused evidence: \(error.reason)", cause: error)
        }
        let stored: (AppendTicket, Bool)? = try state.withLock { s in
            try Self.checkUsable(s)
            guard s.evidence[key] == nil else { return nil }
            return try self.store(&s, evidence: evidence, key: key)
        }
        guard let (ticket, changesView) = stored else { return false }
        try await settle(ticket)
        if changesView { try rebuildView() }
        return true
    }

    /// Stores entries held for clock skew whose time has come (see ``IngestOutcome/held(aheadMs:)``); returns
    /// how many were taken (stored, waiting for a gap, or found duplicate). Ingest calls it; a node also calls
    /// it now and then, so that held entries are taken even when nothing else arrives.
    @discardableResult
    public func releaseHeldEntries() async throws -> Int {
        let now = options.physicalClock()
        let due: [VerifiedEntry] = state.withLock { s in
            guard !s.held.isEmpty else { return [] }
            let sum = now.addingReportingOverflow(options.maxClockSkewMs)
            let limit = sum.overflow ? UInt64.max : sum.partialValue
            let ready = s.held.values.filter { ($0.body.timestamp?.wallMs ?? 0) <= limit }
            for entry in ready { s.held.removeValue(forKey: entry.id) }
            return ready.sorted { ($0.origin, $0.sequence) < ($1.origin, $1.sequence) }
        }
        for entry in due {
            do {
                _ = try await ingest(entry)
            } catch let error as LogError where error.code == .refused {
                // Its chain does not fit (reported in forkReports) or too many wait: the peer offers it again.
                // That is the held entry's outcome, not the caller's, whose own ingest already succeeded.
            }
        }
        return due.count
    }

    /// Ingests a verified entry: decides under the lock, reads a conflicting durable entry outside it.
    func ingest(_ v: VerifiedEntry) async throws -> IngestOutcome {
        let now = options.physicalClock()
        let decision = try state.withLock { s in try self.admit(&s, v, now: now) }
        switch decision {
        case .done(let ticket, let outcome):
            if let ticket { try await settle(ticket) }
            // Evidence against an entry in flight or waiting for a gap changes what is set aside too.
            if case .equivocation = outcome, viewIsStale { try rebuildView() }
            return outcome
        case .conflictsWithRecord(let record):
            // The entry held at this origin and sequence number is durable: read it without the lock.
            let held = try storedEntry(record: record)
            let key = OriginSequenceKey(origin: v.origin, sequence: v.sequence)
            let stored: (AppendTicket, Bool)? = try state.withLock { s in
                try Self.checkUsable(s)
                guard s.evidence[key] == nil else { return nil }
                return try self.store(&s, evidence: Equivocation(first: held, second: v.signed), key: key)
            }
            if let (ticket, changesView) = stored {
                try await settle(ticket)
                if changesView { try rebuildView() }
            }
            return .equivocation(origin: v.origin, sequence: v.sequence)
        }
    }

    /// What ``admit(_:_:now:)`` decided.
    enum Admission {
        /// Done under the lock: wait for `ticket` (if any) and report `outcome`.
        case done(AppendTicket?, IngestOutcome)
        /// The entry conflicts with the durable entry in log record `record`: build the evidence after reading it.
        case conflictsWithRecord(UInt64)
    }

    func admit(_ s: inout StoreState, _ v: VerifiedEntry, now: UInt64) throws -> Admission {
        try Self.checkUsable(s)
        let index = s.origins[v.origin] ?? OriginIndex()
        let at = "\(v.origin)#\(v.sequence)"
        let key = OriginSequenceKey(origin: v.origin, sequence: v.sequence)
        if v.sequence <= index.count {
            let heldRecord = index.records[Int(v.sequence - 1)]
            if index.id(at: v.sequence, in: s.view) == v.id { return .done(nil, .duplicate) }
            if s.evidence[key] != nil { return .done(nil, .equivocation(origin: v.origin, sequence: v.sequence)) }
            guard let flying = s.inFlight.first(where: { $0.record == heldRecord }) else {
                return .conflictsWithRecord(heldRecord)
            }
            let evidence = Equivocation(first: try SignedEntry(wireBytes: flying.bytes), second: v.signed)
            let (ticket, _) = try store(&s, evidence: evidence, key: key)
            return .done(ticket, .equivocation(origin: v.origin, sequence: v.sequence))
        }
        if let ahead = Self.aheadMs(v, now: now, maxSkewMs: options.maxClockSkewMs) {
            // Too far ahead of this node's clock: neither stored nor applied until the clock catches up, so that
            // one member's fast clock neither wins every conflict nor drags the others' clocks.
            s.skews[v.origin] = ahead
            if s.held[v.id] == nil {
                guard s.held.count < options.maxHeldEntries else {
                    throw LogError(
                        code: .refused,
                        message: "\(at) is stamped \(ahead) ms ahead of this node's clock and \(s.held.count) "
                            + "entries are already held for clock skew; it is not taken now"
                    )
                }
                s.held[v.id] = v
            }
            return .done(nil, .held(aheadMs: ahead))
        }
        if v.sequence > index.count + 1 {
            var waiting = s.pending[v.origin] ?? [:]
            if let other = waiting[v.sequence] {
                if other.id == v.id { return .done(nil, .pending(missingFrom: index.count + 1)) }
                guard s.evidence[key] == nil else {
                    return .done(nil, .equivocation(origin: v.origin, sequence: v.sequence))
                }
                let (ticket, _) = try store(&s, evidence: Equivocation(first: other.signed, second: v.signed), key: key)
                return .done(ticket, .equivocation(origin: v.origin, sequence: v.sequence))
            }
            guard waiting.count < options.maxPendingPerOrigin else {
                throw LogError(
                    code: .refused,
                    message: "\(at): \(waiting.count) entries of \(v.origin) already wait for #\(index.count + 1)"
                )
            }
            waiting[v.sequence] = v
            s.pending[v.origin] = waiting
            return .done(nil, .pending(missingFrom: index.count + 1))
        }
        let last = index.last(in: s.view)
        guard v.sequence == 1 || v.body.previous == last?.bytes else {
            s.reportFork(
                ForkReport(
                    origin: v.origin,
                    sequence: v.sequence,
                    entry: v.id,
                    claimedPrevious: EntryID(bytes: v.body.previous),
                    heldPrevious: last,
                    action: .refused
                )
            )
            throw LogError(
                code: .refused,
                message: "\(at): its previous hash is not the id of the \(v.origin)#\(v.sequence - 1) held here "
                    + "(\(last?.short ?? "-")); \(v.origin) may have forked before #\(v.sequence)"
            )
        }
        // Store it and every waiting successor that chains on. A successor that names another predecessor
        // would never chain on: it is dropped and reported (its origin forked, or it lies about its chain).
        var chainOn = [v]
        var waiting = s.pending[v.origin] ?? [:]
        while let next = waiting.removeValue(forKey: chainOn.last!.sequence + 1) {
            guard next.body.previous == chainOn.last!.id.bytes else {
                s.reportFork(
                    ForkReport(
                        origin: next.origin,
                        sequence: next.sequence,
                        entry: next.id,
                        claimedPrevious: EntryID(bytes: next.body.previous),
                        heldPrevious: chainOn.last!.id,
                        action: .droppedWhileWaiting
                    )
                )
                break
            }
            chainOn.append(next)
        }
        s.pending[v.origin] = waiting.isEmpty ? nil : waiting
        for entry in chainOn {
            if let skew = s.clock.observe(entry.body.timestamp ?? HybridTimestamp(), physicalMs: now) {
                s.skews[entry.origin] = skew
            }
        }
        let ticket = try enqueue(
            &s,
            entries: chainOn.map { ($0.bytes, ViewEntry(id: $0.id, body: $0.body)) },
            evidence: []
        )
        return .done(ticket, .stored(v.id, released: chainOn.count - 1))
    }

    /// How far (ms) the entry's clock runs ahead of `now` when that is more than the allowed skew, else `nil`.
    static func aheadMs(_ v: VerifiedEntry, now: UInt64, maxSkewMs: UInt64) -> UInt64? {
        let wall = v.body.timestamp?.wallMs ?? 0
        guard wall > now, wall - now > maxSkewMs else { return nil }
        return wall - now
    }

    /// Queues evidence under the lock; returns its ticket and whether it changes what the view sets aside.
    private func store(
        _ s: inout StoreState,
        evidence: Equivocation,
        key: OriginSequenceKey
    ) throws -> (AppendTicket, Bool) {
        let before = s.setAside[key.origin]
        let ticket = try enqueue(&s, entries: [], evidence: [evidence])
        return (ticket, s.setAside[key.origin] != before)
    }

    /// Throws ``LogError/Code/failed`` once a write of this store failed: it takes nothing until reopened.
    static func checkUsable(_ s: StoreState) throws {
        if let failure = s.failure {
            throw LogError(
                code: .failed,
                message: "the store takes no more writes after an earlier error: \(failure.message); close it and "
                    + "open it again to recover",
                cause: failure
            )
        }
    }

    /// The signed entry in durable record `record`, read from the log (never under the store's lock).
    private func storedEntry(record: UInt64) throws -> SignedEntry {
        guard let stored = try log.records(from: record, limit: 1).first else {
            throw LogError(code: .corrupt, message: "record #\(record) is missing from \(log.logDirectory)")
        }
        let decoded = try stored.payload.withUnsafeBytes {
            try RecordCodec.decode($0, at: "\(log.logDirectory) record \(stored.position)")
        }
        guard case .entry(let bytes, _) = decoded.content else {
            throw LogError(code: .corrupt, message: "record \(stored.position) should hold an entry")
        }
        return try SignedEntry(wireBytes: bytes)
    }

    /// Whether the view sets aside other entries than the evidence held calls for (evidence arrived since it was
    /// folded).
    var viewIsStale: Bool { state.withLock { $0.view.setAside != $0.setAside } }

    /// Refolds the view after new evidence changed which entries are set aside: every durable record, read
    /// without the store's lock, then under it the records that became durable meanwhile are read again (outside)
    /// until none are left, and the entries still in flight are applied. Starts over if more evidence arrived.
    ///
    /// The new view holds the entries' ids in log order, which may differ from the old view's (a store opened from a
    /// checkpoint holds them by origin first): the origin indexes' positions are moved to the new view's in the same
    /// critical section that installs it, from the position the fold gave each record.
    func rebuildView() throws {
        while true {
            let (generation, setAside, first) = state.withLock { s in (s.evidenceCount, s.setAside, s.durableCount) }
            var view = LedgerView(catalog: catalog, roster: roster, setAside: setAside)
            // By record number: the position of its entry in `view` (``OriginIndex/noPosition`` for evidence).
            var positionOfRecord: [UInt32] = []
            positionOfRecord.reserveCapacity(Int(first))
            var read: UInt64 = 0
            var target = first
            var done = false
            while !done {
                try fold(records: read..<target, into: &view, positionOfRecord: &positionOfRecord)
                read = target
                let next: UInt64? = state.withLock { s in
                    guard s.evidenceCount == generation else { return nil }
                    guard s.durableCount == read else { return s.durableCount }
                    // Everything from `read` on is in flight (settle removes only what is durable).
                    for flying in s.inFlight where flying.record >= read {
                        Self.set(&positionOfRecord, record: flying.record, view.applyReturningPosition(flying.entry))
                    }
                    for k in s.origins.values.indices { s.origins.values[k].reposition(byRecord: positionOfRecord) }
                    s.view = view
                    s.viewRebuilds += 1
                    return read
                }
                guard let next else { break }
                if next == read { done = true } else { target = next }
            }
            if done { return }
        }
    }

    /// Applies the entries of durable records `range` to `view`, noting in `positionOfRecord` where each went.
    private func fold(
        records range: Range<UInt64>,
        into view: inout LedgerView,
        positionOfRecord: inout [UInt32]
    ) throws {
        guard !range.isEmpty else { return }
        struct Done: Error {}
        do {
            try log.forEachRecord(from: range.lowerBound, verifyingChecksums: false) { position, payload in
                guard position.index < range.upperBound else { throw Done() }
                let (record, body) = try RecordCodec.decodeWithBody(
                    payload,
                    at: "\(log.logDirectory) record \(position)"
                )
                if case .entry(_, let id) = record.content, let body {
                    let at = view.applyReturningPosition(ViewEntry(id: id, body: body))
                    Self.set(&positionOfRecord, record: position.index, at)
                }
            }
        } catch is Done {}
    }

    /// Notes `position` for `record` in a table by record number; records skipped (evidence) get
    /// ``OriginIndex/noPosition``.
    private static func set(_ positionOfRecord: inout [UInt32], record: UInt64, _ position: UInt32) {
        precondition(UInt64(positionOfRecord.count) <= record, "records are noted in order")
        while UInt64(positionOfRecord.count) < record { positionOfRecord.append(OriginIndex.noPosition) }
        positionOfRecord.append(position)
    }
}
