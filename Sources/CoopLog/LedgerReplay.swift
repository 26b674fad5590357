public import CoopLedger
public import CoopSegments
public import CoopWire
import Dispatch
import Synchronization

/// The ledger as a log says it was: the view at a log position or at a time, and the history of one item.
///
/// Reads through ``LogReader`` (offline, read-only). Signatures are not checked here (that is
/// ``Auditor/verify(directory:roster:progress:)``'s job), so replay runs at decoding speed. Pure functions of
/// the files, the catalog and the roster.
public enum LedgerReplay {
    /// Where to stop.
    public enum Limit: Sendable {
        /// The whole log.
        case end
        /// After the first `n` records (log position `n`).
        case position(UInt64)
        /// Entries whose hybrid clock time is at or before this many milliseconds since the epoch.
        case time(wallMs: UInt64)
    }

    /// The view after replaying `directory`'s log up to `limit`. Evidence in the replayed part (for
    /// `.position`) or in the whole log (otherwise) sets entries aside.
    public static func view(
        directory: String,
        catalog: CatalogBook,
        roster: RosterBook,
        limit: Limit = .end
    ) throws -> (view: LedgerView, records: UInt64) {
        let reader = try LogReader.open(directory: directory)
        let end: UInt64
        if case .position(let n) = limit { end = min(n, reader.recordCount) } else { end = reader.recordCount }
        let view = try withEvidence { setAside, evidence in
            var view = LedgerView(catalog: catalog, roster: roster, setAside: setAside)
            view.reserveCapacity(Int(end))
            try forEachEntry(
                reader,
                before: end,
                judge: view.entryJudge,
                keepingBytes: { _ in false },
                lookahead: { view.prefetch($0, probing: $1) },
                evidence: evidence,
                apply: { _, entry, _, disposition in
                    if case .time(let wallMs) = limit, (entry.body.timestamp?.wallMs ?? 0) > wallMs { return }
                    if let disposition {
                        view.apply(entry, judged: disposition)
                    } else {
                        view.apply(entry)
                    }
                }
            )
            return view
        }
        return (view, end)
    }

    /// One change to an item, as `coop audit history` shows it.
    public struct Change: Sendable {
        public var position: RecordPosition
        public var id: EntryID
        public var body: EntryBody
        /// The `SignedEntry` encoding as stored (its SHA-256 is `id`).
        public var signed: [UInt8]
        /// Base64 of the first 8 bytes of the roster key that verifies the entry ("" when the origin is unknown).
        public var keyFingerprint: String
        public var disposition: Disposition
        public var before: ItemState
        public var after: ItemState
    }

    /// ``history(directory:catalog:roster:itemID:)`` on a Dispatch thread, when `gate` gives it a turn: it reads the
    /// whole log (seconds on a log of a million entries), which must not hold one of the few threads of Swift's shared
    /// pool (a server's other calls run there) for so long, and it holds a view of every entry meanwhile, which a burst
    /// of requests must not multiply (``ReplayGate``). Throws `CancellationError` when the task is cancelled while it
    /// waits for its turn, and ``LogError/Code/busy`` when too many wait already or no turn came within `patience`.
    public static func historyOffPool(
        directory: String,
        catalog: CatalogBook,
        roster: RosterBook,
        itemID: String,
        assumingSetAside: [String: UInt64] = [:],
        gate: ReplayGate = .shared,
        patience: Duration? = nil
    ) async throws -> [Change] {
        try await gate.run(patience: patience) {
            try await withCheckedThrowingContinuation { continuation in
                DispatchQueue.global().async {
                    continuation.resume(
                        with: Result {
                            try history(
                                directory: directory,
                                catalog: catalog,
                                roster: roster,
                                itemID: itemID,
                                assumingSetAside: assumingSetAside
                            )
                        }
                    )
                }
            }
        }
    }

    /// Every entry about `itemID`, in log order, with the item's state before and after it.
    ///
    /// `assumingSetAside` is what the log's evidence is expected to set aside (a store's ``LogStore/setAside``, for
    /// its own log): the log is replayed once when that is what it finds, and again, with what it found, when not.
    public static func history(
        directory: String,
        catalog: CatalogBook,
        roster: RosterBook,
        itemID: String,
        assumingSetAside: [String: UInt64] = [:]
    ) throws -> [Change] {
        guard catalog.item(itemID) != nil else {
            throw LedgerError(code: .unknownItem, message: "\(itemID) is not an item of the catalog")
        }
        let reader = try LogReader.open(directory: directory)
        return try withEvidence(assuming: assumingSetAside) { setAside, evidence in
            var view = LedgerView(catalog: catalog, roster: roster, setAside: setAside)
            view.reserveCapacity(Int(reader.recordCount))
            var changes: [Change] = []
            try forEachEntry(
                reader,
                before: reader.recordCount,
                judge: view.entryJudge,
                keepingBytes: { LedgerView.itemID(of: $0) == itemID },
                lookahead: { view.prefetch($0, probing: $1) },
                evidence: evidence
            ) { position, entry, signed, judged in
                let body = entry.body
                guard LedgerView.itemID(of: body) == itemID else {
                    if let judged { view.apply(entry, judged: judged) } else { view.apply(entry) }
                    return
                }
                let before = view.state(of: itemID)!
                let disposition = if let judged { view.apply(entry, judged: judged) } else { view.apply(entry) }
                let key = roster.member(body.origin)?.signingPublicKey ?? []
                changes.append(
                    Change(
                        position: position,
                        id: entry.id,
                        body: body,
                        signed: signed,
                        keyFingerprint: key.isEmpty ? "" : Base64.encode(key.prefix(8)),
                        disposition: disposition,
                        before: before,
                        after: view.state(of: itemID)!
                    )
                )
            }
            return changes
        }
    }

    /// How two nodes' logs compare for one origin.
    public struct OriginComparison: Sendable, Hashable {
        public var origin: String
        /// Highest contiguous sequence number in each log.
        public var left: UInt64
        public var right: UInt64
        /// The first sequence number at which the two hold different entries (a fork), if any.
        public var forkAt: UInt64?
        /// Evidence of equivocation against the origin in each log.
        public var leftEvidence: Int
        public var rightEvidence: Int
    }

    /// Per origin, what each of two logs holds and where they fork.
    public static func diff(left: String, right: String) throws -> [OriginComparison] {
        let a = try chains(LogReader.open(directory: left))
        let b = try chains(LogReader.open(directory: right))
        return Set(a.ids.keys).union(b.ids.keys).union(a.evidence.keys).union(b.evidence.keys).sorted().map { origin in
            let l = a.ids[origin] ?? []
            let r = b.ids[origin] ?? []
            let fork = zip(l, r).enumerated().first { $0.element.0 != $0.element.1 }.map { UInt64($0.offset + 1) }
            return OriginComparison(
                origin: origin,
                left: UInt64(l.count),
                right: UInt64(r.count),
                forkAt: fork,
                leftEvidence: a.evidence[origin] ?? 0,
                rightEvidence: b.evidence[origin] ?? 0
            )
        }
    }

    // MARK: Reading

    private static func chains(_ reader: LogReader) throws -> (ids: [String: [EntryID]], evidence: [String: Int]) {
        var ids: [String: [EntryID]] = [:]
        var evidence: [String: Int] = [:]
        try reader.forEachRecord(verifyingChecksums: false) { position, payload in
            let (record, entryBody) = try RecordCodec.decodeWithBody(
                payload,
                at: "\(reader.logDirectory) record \(position)"
            )
            switch record.content {
            case .entry(_, let id):
                guard let body = entryBody else { return }
                if body.sequence == UInt64((ids[body.origin]?.count ?? 0) + 1) {
                    ids[body.origin, default: []].append(id)
                }
            case .evidence(let e):
                if let first = e.first, let body = try? EntryBody(wireBytes: first.body) {
                    evidence[body.origin, default: 0] += 1
                }
            }
        }
        return (ids, evidence)
    }

    /// The result of `pass` run with what the log's evidence sets aside (per origin, the first sequence number
    /// evidence names). `pass` is given that, and an ``EvidenceSeen`` to note the evidence records it meets in. The
    /// first pass is given `assumed` (evidence is rare: nothing, unless the caller knows better), which saves reading
    /// the log once to find the evidence and once to replay; only when what it met sets aside something else is `pass`
    /// run again, with that (a log holding evidence the caller did not expect costs two passes). Either way the result
    /// is that of a pass that knew the evidence first.
    static func withEvidence<R>(
        assuming assumed: [String: UInt64] = [:],
        _ pass: (_ setAside: [String: UInt64], _ seen: EvidenceSeen) throws -> R
    ) throws -> R {
        let found: [String: UInt64]
        do {
            let seen = EvidenceSeen()
            let optimistic = try pass(assumed, seen)
            guard seen.setAside != assumed else { return optimistic }
            found = seen.setAside
            // `optimistic` ends here: the second pass does not hold two views.
        }
        return try pass(found, EvidenceSeen())
    }

    /// Per origin, the first sequence number evidence met so far names. Thread-safe: the decoding threads note
    /// evidence here as they meet it (rarely), so the entries they hand over carry nothing for it.
    final class EvidenceSeen: Sendable {
        private let found = Mutex<[String: UInt64]>([:])

        func note(_ key: OriginSequenceKey) {
            found.withLock { $0[key.origin] = min($0[key.origin] ?? .max, key.sequence) }
        }

        var setAside: [String: UInt64] { found.withLock { $0 } }
    }

    /// Calls `body` with each entry in records before `end`, decoded (and, given `judge`, judged) on all cores, and
    /// its `SignedEntry` bytes when `keepingBytes` says so of its body (empty otherwise: a replay to a view needs only
    /// the id and the body, and not copying the bytes saves an allocation per entry). Notes the evidence records met
    /// in `evidence`.
    ///
    /// The bodies given to `keepingBytes`, `judge` and `body` have `previous` **empty** (checked, not copied: the view
    /// never reads it), except those `keepingBytes` said yes to, which come whole from the full decode.
    static func forEachEntry(
        _ reader: LogReader,
        before end: UInt64,
        judge: EntryJudge? = nil,
        keepingBytes: @escaping @Sendable (EntryBody) -> Bool,
        lookahead: (EntryID, _ near: Bool) -> Void = { _, _ in },
        evidence: EvidenceSeen,
        apply body: (RecordPosition, ViewEntry, [UInt8], Disposition?) throws -> Void
    ) throws {
        let directory = reader.logDirectory
        try ChunkedDecode.forEach(
            read: { deliver in
                try reader.forEachRecord(verifyingChecksums: false) { position, payload in
                    if position.index >= end { throw ParallelDecode.Stop() }
                    try deliver(position, payload)
                }
            },
            decode: { position, payload, _ -> Decoded? in
                if RecordCodec.kind(of: payload) == .evidence {
                    let record = try RecordCodec.decode(payload, at: "\(directory) record \(position)")
                    // Whom the evidence is against: the origin and sequence number of its first entry (a first entry
                    // that does not decode names no one, as when the store loads evidence).
                    if case .evidence(let e) = record.content, let first = e.first,
                        let body = try? EntryBody(wireBytes: first.body)
                    {
                        evidence.note(OriginSequenceKey(origin: body.origin, sequence: body.sequence))
                    }
                    return nil
                }
                // `previous` is not read by the view: left empty, one allocation and copy less per entry.
                guard
                    let (id, decodedBody) = try RecordCodec.decodeEntry(
                        payload,
                        keepingPrevious: false,
                        at: "\(directory) record \(position)"
                    )
                else { return nil }
                var body = decodedBody
                var signed: [UInt8] = []
                if keepingBytes(body) {
                    // The bytes and the whole body (for the few entries asked for): the full decode copies them out.
                    let (record, full) = try RecordCodec.decodeWithBody(payload, at: "\(directory) record \(position)")
                    if case .entry(let bytes, _) = record.content { signed = bytes }
                    if let full { body = full }
                }
                return Decoded(entry: ViewEntry(id: id, body: body), signed: signed, disposition: judge?.judge(body))
            },
            key: { decoded in decoded?.entry.id },
            lookahead: lookahead,
            apply: { position, decoded in
                if let decoded {
                    try body(position, decoded.entry, decoded.signed, decoded.disposition)
                }
            }
        )
    }

    /// An entry decoded off the folding thread. A class, so that handing it over moves one reference (a tuple
    /// was copied field by field through generic value witnesses, retaining each of the body's strings).
    private final class Decoded: Sendable {
        let entry: ViewEntry
        let signed: [UInt8]
        let disposition: Disposition?

        init(entry: ViewEntry, signed: [UInt8], disposition: Disposition?) {
            self.entry = entry
            self.signed = signed
            self.disposition = disposition
        }
    }
}
