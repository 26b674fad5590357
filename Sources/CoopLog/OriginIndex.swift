import CoopLedger

/// What the store holds of one origin: for each sequence number (index = sequence − 1), where the entry's id is in
/// the store's view (its position in ``LedgerView/seenIDs``, which holds every id the store holds once) and the log
/// record the entry is in. 12 bytes an entry (the id's 32 are the view's), no per-entry heap allocation.
///
/// The positions belong to one view: every entry appended is in that view at the position given, and whoever
/// replaces the store's view moves them with it, under the same lock (``reposition(byRecord:)``).
struct OriginIndex: Sendable {
    /// Each entry's position in the view's ``LedgerView/seenIDs`` (4 bytes: the view holds fewer than 2³² ids).
    private(set) var positions: [UInt32] = []
    /// Each entry's log record. Kept at 8 bytes: records also hold evidence, so their count is not bounded by the
    /// number of entries a view holds.
    private(set) var records: [UInt64] = []

    /// Highest sequence number held (all before it are held too).
    var count: UInt64 { UInt64(positions.count) }

    /// The id of the entry at `sequence` (1 … ``count``), from the store's view.
    func id(at sequence: UInt64, in view: LedgerView) -> EntryID {
        view.seenID(at: positions[Int(sequence - 1)])
    }

    /// The id of the last entry held, from the store's view.
    func last(in view: LedgerView) -> EntryID? {
        positions.last.map { view.seenID(at: $0) }
    }

    /// Appends the next entry: where the view holds its id, and its record.
    mutating func append(position: UInt32, record: UInt64) {
        positions.append(position)
        records.append(record)
    }

    mutating func reserveCapacity(_ count: Int) {
        positions.reserveCapacity(count)
        records.reserveCapacity(count)
    }

    /// After the store's view was replaced by one given the same entries in another order: each entry's position
    /// becomes `positionOfRecord[record]`, its position in the new view. Every record of this index must have one.
    mutating func reposition(byRecord positionOfRecord: [UInt32]) {
        for k in positions.indices {
            let position = positionOfRecord[Int(records[k])]
            precondition(position != Self.noPosition, "record #\(records[k]) is not in the refolded view")
            positions[k] = position
        }
    }

    /// Marks a record without an entry (evidence) in the table ``reposition(byRecord:)`` is given.
    static let noPosition = UInt32.max

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
