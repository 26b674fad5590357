import CoopWire

extension LedgerView {
    /// The fold state of every item (not the set of entry ids seen, which the checkpoint lists with the log's
    /// index), for a checkpoint. Restore with ``init(snapshot:catalog:roster:setAside:seen:)``.
    public func snapshot() -> [UInt8] {
        var w = ByteWriter()
        w.u32(UInt32(items.count))
        for id in items.keys.sorted() {
            let fold = items[id]!
            w.string(id)
            w.u32(UInt32(fold.heads.count))
            for head in fold.heads.values.sorted(by: { $0.id < $1.id }) {
                w.id(head.id)
                w.string(head.origin)
                w.u64(head.timestamp.wallMs)
                w.u32(head.timestamp.logical)
                w.blob(head.update.wireBytes())
            }
            w.u32(UInt32(fold.citedUnseen.count))
            for cited in fold.citedUnseen.sorted() { w.id(cited) }
            w.u32(UInt32(fold.signOffs.count))
            for target in fold.signOffs.keys.sorted() {
                w.id(target)
                let origins = fold.signOffs[target]!.sorted()
                w.u32(UInt32(origins.count))
                for origin in origins { w.string(origin) }
            }
            w.u32(fold.rejected)
            w.u32(fold.setAside)
            w.u32(fold.comments)
        }
        return w.bytes
    }

    /// A view restored from ``snapshot()``. `seen` must be the ids of every entry the snapshot's view was given (or
    /// empty, and the ids given right after with ``adoptSeen(_:capacity:)``); `seenCount`, when given, is how many
    /// there are (room for them is made at once).
    /// Throws ``LedgerError`` with code `.mismatch` when the snapshot does not fit the catalog.
    public init<Seen: Sequence<EntryID>>(
        snapshot: [UInt8],
        catalog: CatalogBook,
        roster: RosterBook,
        setAside: [String: UInt64],
        seen: Seen,
        seenCount: Int = 0
    ) throws {
        self.init(catalog: catalog, roster: roster, setAside: setAside)
        var r = ByteReader(snapshot)
        do {
            let count = try r.u32()
            guard Int(count) == catalog.items.count else {
                throw LedgerError(
                    code: .mismatch,
                    message: "the snapshot has \(count) items, the catalog \(catalog.items.count)"
                )
            }
            for _ in 0..<count {
                let itemID = try r.string()
                guard items[itemID] != nil else {
                    throw LedgerError(code: .mismatch, message: "the snapshot has item \(itemID), the catalog does not")
                }
                var fold = ItemFold()
                for _ in 0..<(try r.u32()) {
                    let id = try r.id()
                    let origin = try r.string()
                    let timestamp = HybridTimestamp(wallMs: try r.u64(), logical: try r.u32())
                    let update = try StatusUpdate(wireBytes: try r.blob())
                    fold.heads[id] = Head(id: id, origin: origin, timestamp: timestamp, update: update)
                }
                for _ in 0..<(try r.u32()) { fold.citedUnseen.insert(try r.id()) }
                for _ in 0..<(try r.u32()) {
                    let target = try r.id()
                    var origins: Set<String> = []
                    for _ in 0..<(try r.u32()) { origins.insert(try r.string()) }
                    fold.signOffs[target] = origins
                }
                fold.rejected = try r.u32()
                fold.setAside = try r.u32()
                fold.comments = try r.u32()
                items[itemID] = fold
            }
            guard r.isAtEnd else { throw LedgerError(code: .mismatch, message: "the snapshot has trailing bytes") }
        } catch is ByteReader.Truncated {
            throw LedgerError(code: .mismatch, message: "the snapshot is truncated")
        }
        self.seen.reserveCapacity(max(seenCount, seen.underestimatedCount))
        for id in seen { self.seen.insert(id) }
    }
}
