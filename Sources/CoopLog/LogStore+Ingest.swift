import CoopLedger
import CoopSegments
public import CoopWire

extension LogStore {
    /// Takes an entry from a peer. Returns once what it stored is durable.
    ///
    /// Throws ``LogError/Code/notAuthentic`` (never stored) when the entry is not authentic, and
    /// ``LogError/Code/refused`` when it is authentic but its chain does not fit (its previous hash is not the
    /// entry held before it: the origin forked earlier) or too many early entries already wait.
    public func ingest(_ entry: SignedEntry) async throws -> IngestOutcome {
        let verified: VerifiedEntry
        do {
            verified = try verifier.verify(entry)
        } catch {
            throw LogError(code: .notAuthentic, message: "refused entry: \(error.reason)", cause: error)
        }
        let now = options.physicalClock()
        let (ticket, outcome): (AppendTicket?, IngestOutcome) = try state.withLock { s in
            try self.admit(&s, verified, now: now)
        }
        if let ticket { try await settle(ticket) }
        if case .equivocation = outcome { try rebuildView() }
        return outcome
    }

    /// Takes evidence of an equivocation from a peer; returns whether it was new. Throws
    /// ``LogError/Code/notAuthentic`` when it proves nothing.
    @discardableResult
    public func ingest(_ evidence: Equivocation) async throws -> Bool {
        let key: (origin: String, sequence: UInt64)
        do {
            key = try verifier.verify(evidence)
        } catch {
            throw LogError(code: .notAuthentic, message: "refused evidence: \(error.reason)", cause: error)
        }
        let ticket: AppendTicket? = try state.withLock { s in
            guard s.evidence[OriginSequenceKey(origin: key.origin, sequence: key.sequence)] == nil else { return nil }
            return try self.enqueue(&s, entries: [], evidence: [evidence])
        }
        guard let ticket else { return false }
        try await settle(ticket)
        try rebuildView()
        return true
    }

    private func admit(
        _ s: inout StoreState,
        _ v: VerifiedEntry,
        now: UInt64
    ) throws -> (AppendTicket?, IngestOutcome) {
        let index = s.origins[v.origin] ?? OriginIndex()
        let at = "\(v.origin)#\(v.sequence)"
        if v.sequence <= index.count {
            let held = index.ids[Int(v.sequence - 1)]
            if held == v.id { return (nil, .duplicate) }
            let key = OriginSequenceKey(origin: v.origin, sequence: v.sequence)
            if s.evidence[key] != nil { return (nil, .equivocation(origin: v.origin, sequence: v.sequence)) }
            let heldEntry = try storedEntry(s, record: index.records[Int(v.sequence - 1)])
            let evidence = Equivocation(first: heldEntry, second: v.signed)
            let ticket = try enqueue(&s, entries: [], evidence: [evidence])
            return (ticket, .equivocation(origin: v.origin, sequence: v.sequence))
        }
        if v.sequence > index.count + 1 {
            var waiting = s.pending[v.origin] ?? [:]
            if let other = waiting[v.sequence] {
                if other.id == v.id { return (nil, .pending(missingFrom: index.count + 1)) }
                let key = OriginSequenceKey(origin: v.origin, sequence: v.sequence)
                guard s.evidence[key] == nil else {
                    return (nil, .equivocation(origin: v.origin, sequence: v.sequence))
                }
                let ticket = try enqueue(
                    &s,
                    entries: [],
                    evidence: [Equivocation(first: other.signed, second: v.signed)]
                )
                return (ticket, .equivocation(origin: v.origin, sequence: v.sequence))
            }
            guard waiting.count < options.maxPendingPerOrigin else {
                throw LogError(
                    code: .refused,
                    message: "\(at): \(waiting.count) entries of \(v.origin) already wait for #\(index.count + 1)"
                )
            }
            waiting[v.sequence] = v
            s.pending[v.origin] = waiting
            return (nil, .pending(missingFrom: index.count + 1))
        }
        guard v.sequence == 1 || v.body.previous == index.last?.bytes else {
            throw LogError(
                code: .refused,
                message: "\(at): its previous hash is not the id of the \(v.origin)#\(v.sequence - 1) held here "
                    + "(\(index.last?.short ?? "-")); \(v.origin) may have forked before #\(v.sequence)"
            )
        }
        // Store it and every waiting successor that chains on.
        var chainOn = [v]
        var waiting = s.pending[v.origin] ?? [:]
        while let next = waiting[chainOn.last!.sequence + 1], next.body.previous == chainOn.last!.id.bytes {
            waiting.removeValue(forKey: next.sequence)
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
        return (ticket, .stored(v.id, released: chainOn.count - 1))
    }

    /// The signed entry in record `record` (queued or durable).
    private func storedEntry(_ s: StoreState, record: UInt64) throws -> SignedEntry {
        if let flying = s.inFlight.first(where: { $0.record == record }) {
            return try SignedEntry(wireBytes: flying.bytes)
        }
        guard let stored = try log.records(from: record, limit: 1).first else {
            throw LogError(code: .corrupt, message: "record #\(record) is missing from \(log.logDirectory)")
        }
        let decoded = try stored.payload.withUnsafeBytes {
            try RecordCodec.decode($0, at: "\(stored.position)")
        }
        guard case .entry(let bytes, _) = decoded.content else {
            throw LogError(code: .corrupt, message: "record \(stored.position) should hold an entry")
        }
        return try SignedEntry(wireBytes: bytes)
    }

    /// Refolds the view after new evidence changed which entries are set aside: every durable record, then
    /// those still in flight. Holds the lock meanwhile (evidence is rare).
    func rebuildView() throws {
        try state.withLock { s in
            var view = LedgerView(catalog: catalog, roster: roster, setAside: s.setAside)
            try log.forEachRecord(verifyingChecksums: false) { position, payload in
                let (record, body) = try RecordCodec.decodeWithBody(
                    payload,
                    at: "\(log.logDirectory) record \(position)"
                )
                if case .entry(_, let id) = record.content, let body { view.apply(ViewEntry(id: id, body: body)) }
            }
            for flying in s.inFlight { view.apply(flying.entry) }
            s.view = view
        }
    }
}
