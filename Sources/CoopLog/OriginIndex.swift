import CoopLedger

/// What the store holds of one origin: entry ids by sequence number (index = sequence − 1) and the log record
/// each one is in. Compact (40 bytes an entry, no per-entry heap allocation).
struct OriginIndex: Sendable {
    var ids: [EntryID] = []
    var records: [UInt64] = []

    /// Highest sequence number held (all before it are held too).
    var count: UInt64 { UInt64(ids.count) }
    var last: EntryID? { ids.last }

    mutating func append(_ id: EntryID, record: UInt64) {
        ids.append(id)
        records.append(record)
    }

    /// How many of the origin's entries are in records below `durableCount`.
    func durable(below durableCount: UInt64) -> UInt64 {
        var low = 0
        var high = records.count
        while low < high {
            let middle = (low + high) / 2
            if records[middle] < durableCount { low = middle + 1 } else { high = middle }
        }
        return UInt64(low)
    }
}

/// A pair (origin, sequence number).
struct OriginSequenceKey: Hashable, Sendable {
    var origin: String
    var sequence: UInt64
}
