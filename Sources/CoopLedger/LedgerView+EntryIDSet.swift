/// A set of entry ids for a view that may hold millions: the ids in one contiguous array (32 bytes each, in the
/// order inserted) and an open-addressing table of 4-byte positions into it, at most half full. About 40 bytes an
/// entry, where a `Set<EntryID>` takes 64 (32-byte buckets at most three quarters full, a power of two of them).
///
/// Holds up to 2³² − 2 ids (the positions are 4 bytes). A value; not shared (one owner mutates it). Positions come
/// from the ids' seeded `hashValue` (ids are SHA-256 values, but whoever can sign entries could grind ones whose raw
/// bits collide).
struct EntryIDSet: Sendable {
    /// The ids, in the order inserted.
    private(set) var ids: [EntryID] = []
    /// 0: empty; otherwise 1 + the id's index in `ids`. A power of two long (or empty).
    private var slots: [UInt32] = []

    var count: Int { ids.count }

    init() {}

    /// A set of `ids` at positions 0 ..< `ids.count`, in that order, with room for `capacity` ids: the array is taken
    /// as it is (not copied when nothing else holds it). `nil` when an id repeats.
    init?(adopting ids: consuming [EntryID], capacity: Int) {
        precondition(ids.count < Int(UInt32.max - 1), "more entry ids than a view holds")
        self.ids = ids
        self.ids.reserveCapacity(capacity)
        guard rehash(Self.slotCount(for: max(capacity, self.ids.count))) else { return nil }
    }

    /// Makes room for `capacity` ids without growing again.
    mutating func reserveCapacity(_ capacity: Int) {
        ids.reserveCapacity(capacity)
        if Self.slotCount(for: capacity) > slots.count { rehash(Self.slotCount(for: capacity)) }
    }

    func contains(_ id: EntryID) -> Bool {
        guard !slots.isEmpty else { return false }
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: id.hashValue) & mask
        while true {
            let slot = slots[i]
            if slot == 0 { return false }
            if ids[Int(slot - 1)] == id { return true }
            i = (i + 1) & mask
        }
    }

    /// Inserts `id` unless it is there already; returns whether it was new and its position in ``ids`` (where it was
    /// added, or where it already was). A position never changes once given.
    @discardableResult
    mutating func insert(_ id: EntryID) -> (inserted: Bool, position: Int) {
        precondition(ids.count < Int(UInt32.max - 1), "more entry ids than a view holds")
        // The table is a power of two of at least 16 slots (or empty): `slotCount(for: n) > slots.count` exactly when
        // 2n > slots.count, tested here without `slotCount`'s loop (this runs for every entry a view is given).
        if slots.isEmpty || (ids.count + 1) * 2 > slots.count {
            rehash(Self.slotCount(for: max(ids.count + 1, 16) * 2))
        }
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: id.hashValue) & mask
        while true {
            let slot = slots[i]
            if slot == 0 { break }
            if ids[Int(slot - 1)] == id { return (false, Int(slot - 1)) }
            i = (i + 1) & mask
        }
        ids.append(id)
        slots[i] = UInt32(ids.count)
        return (true, ids.count - 1)
    }

    /// The table size that keeps `count` ids at most half full.
    private static func slotCount(for count: Int) -> Int {
        var n = 16
        while n < count * 2 { n <<= 1 }
        return n
    }

    /// Builds a table of `size` slots for the ids; false (the table left as it was) when an id repeats.
    @discardableResult
    private mutating func rehash(_ size: Int) -> Bool {
        var table = [UInt32](repeating: 0, count: size)
        let mask = size - 1
        for (k, id) in ids.enumerated() {
            var i = Int(truncatingIfNeeded: id.hashValue) & mask
            while table[i] != 0 {
                if ids[Int(table[i] - 1)] == id { return false }
                i = (i + 1) & mask
            }
            table[i] = UInt32(k + 1)
        }
        slots = table
        return true
    }
}
