public import CoopLedger
public import CoopSegments
public import CoopWire

extension LogStore {
    /// Per origin, the highest sequence number held durably without gaps.
    public var versionVector: VersionVector {
        state.withLock { s in
            VersionVector(
                origins: s.origins.keys.sorted().map {
                    OriginSequence(origin: $0, sequence: s.origins[$0]!.durable(below: s.durableCount))
                }
            )
        }
    }

    /// Per origin: durable sequence number, the entry id there, and evidence known against it.
    public var digests: [OriginDigest] {
        state.withLock { s in
            let evidence = Dictionary(grouping: s.evidence.keys, by: \.origin)
            return Set(s.origins.keys).union(evidence.keys).sorted().map { origin in
                let index = s.origins[origin] ?? OriginIndex()
                let sequence = index.durable(below: s.durableCount)
                return OriginDigest(
                    origin: origin,
                    sequence: sequence,
                    head: sequence > 0 ? index.id(at: sequence, in: s.view).bytes : [],
                    evidence: UInt32(evidence[origin]?.count ?? 0)
                )
            }
        }
    }

    /// Number of records in the log (durable).
    public var recordCount: UInt64 { state.withLock { $0.durableCount } }

    /// The local chain value after the last record queued.
    public var chainHead: [UInt8] { state.withLock { $0.chain } }

    /// All evidence of equivocation held, ordered by origin and sequence number.
    public var evidence: [Equivocation] {
        state.withLock { s in
            s.evidence.keys.sorted { ($0.origin, $0.sequence) < ($1.origin, $1.sequence) }.map { s.evidence[$0]! }
        }
    }

    /// Per origin, the first sequence number the evidence held names: the origin's entries from there on are set
    /// aside. (A replay of this store's log can start from it: ``LedgerReplay/history(directory:catalog:roster:itemID:assumingSetAside:)``.)
    public var setAside: [String: UInt64] { state.withLock { $0.setAside } }

    /// Remote origins whose clocks ran further ahead than the clock allows, and by how much (ms).
    public var clockSkews: [String: UInt64] { state.withLock { $0.skews } }

    /// Entries held because their clock runs too far ahead of this node's, by origin.
    public var heldCounts: [String: Int] {
        state.withLock { s in Dictionary(grouping: s.held.values, by: \.origin).mapValues(\.count) }
    }

    /// Entries that did not chain onto what the store holds (newest last, at most 100), for operators.
    public var forkReports: [ForkReport] { state.withLock { $0.forkReports } }

    /// Times the view was refolded from the log because new evidence changed what is set aside.
    public var viewRebuildCount: Int { state.withLock { $0.viewRebuilds } }

    /// The write error that stopped the store, if one did (it then takes nothing until reopened).
    public var failure: LogError? { state.withLock { $0.failure } }

    /// Number of early entries waiting for a gap, per origin.
    public var pendingCounts: [String: Int] { state.withLock { $0.pending.mapValues(\.count) } }

    /// Every item's state, in catalog order.
    public var states: [ItemState] { state.withLock { $0.view.states } }

    /// One item's state, or `nil` for an unknown id.
    public func state(of itemID: String) -> ItemState? { state.withLock { $0.view.state(of: itemID) } }

    /// The item's current heads.
    public func heads(of itemID: String) -> [EntryID] { state.withLock { $0.view.heads(of: itemID) } }

    /// Durable entries of `origin` after sequence number `after`, in order, at most `limit` (none for a limit of 0
    /// or less).
    public func entries(of origin: String, after: UInt64, limit: Int = .max) throws -> [SignedEntry] {
        try entryBytes(of: origin, after: after, limit: limit).map { try SignedEntry(wireBytes: $0) }
    }

    /// The same entries as ``entries(of:after:limit:)``, as the canonical `SignedEntry` encodings the log stores
    /// (what a peer is sent, without decoding and encoding them again).
    public func entryBytes(of origin: String, after: UInt64, limit: Int = .max) throws -> [[UInt8]] {
        guard limit > 0 else { return [] }
        let records: [UInt64] = state.withLock { s in
            guard let index = s.origins[origin] else { return [] }
            let durable = index.durable(below: s.durableCount)
            guard after < durable else { return [] }
            let end = min(durable, after + UInt64(min(limit, Int(UInt32.max))))
            return Array(index.records[Int(after)..<Int(end)])
        }
        guard let first = records.first else { return [] }
        let wanted = Set(records)
        var out: [[UInt8]] = []
        out.reserveCapacity(records.count)
        struct Done: Error {}
        do {
            try log.forEachRecord(from: first, verifyingChecksums: false) { position, payload in
                guard wanted.contains(position.index) else { return }
                let decoded = try RecordCodec.decode(payload, at: "\(position)")
                if case .entry(let bytes, _) = decoded.content { out.append(bytes) }
                if out.count == records.count { throw Done() }
            }
        } catch is Done {}
        return out
    }
}
