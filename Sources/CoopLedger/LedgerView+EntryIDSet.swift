import CCoopPrefetch

/// A set of entry ids for a view that may hold millions: the ids in one contiguous array (32 bytes each, in the
/// order inserted) and an open-addressing table of 4-byte positions into it, at most half full. About 40 bytes an
/// entry, where a `Set<EntryID>` takes 64 (32-byte buckets at most three quarters full, a power of two of them).
///
/// Holds up to 2³² − 2 ids (the positions are 4 bytes). A value; not shared (one owner mutates it). Slots come from
/// ``EntryID/keyedHash(_:_:)`` under a key drawn at random once per process (ids are SHA-256 values, but whoever can
/// sign entries could grind ones whose raw bits collide; without the key they cannot tell which ids share a slot).
struct EntryIDSet: Sendable {
    /// The ids, in the order inserted.
    private(set) var ids: [EntryID] = []
    /// 0: empty; otherwise 1 + the id's index in `ids`. A power of two long (or empty).
    private var slots: [UInt32] = []

    var count: Int { ids.count }

    /// The process's key for slots (random, drawn once).
    private static let processKey: (UInt64, UInt64) = {
        var random = SystemRandomNumberGenerator()
        return (random.next(), random.next())
    }()

    /// ``processKey``, kept here so that a lookup reads no global.
    private let key = Self.processKey

    /// The first slot to probe for `id` in a table of `mask + 1` slots.
    @inline(__always)
    private func slot(of id: EntryID, mask: Int) -> Int {
        Int(truncatingIfNeeded: id.keyedHash(key.0, key.1)) & mask
    }

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
        var i = slot(of: id, mask: mask)
        while true {
            let slot = slots[i]
            if slot == 0 { return false }
            if ids[Int(slot - 1)] == id { return true }
            i = (i + 1) & mask
        }
    }

    /// Starts bringing the first slot `id` would probe into the cache, for an ``insert(_:)`` or ``contains(_:)`` of
    /// it a little later (a large replay reads the table at random; a miss costs as much as the rest of an insert).
    /// A hint: changes nothing.
    func prefetchSlot(of id: EntryID) {
        guard !slots.isEmpty else { return }
        slots.withUnsafeBufferPointer { coop_prefetch($0.baseAddress! + slot(of: id, mask: $0.count - 1)) }
    }

    /// Reads the first slot `id` would probe (best after ``prefetchSlot(of:)``) and, when it is taken, starts bringing
    /// the id it holds into the cache: the comparison an insert makes there. A hint: changes nothing.
    func prefetchProbe(of id: EntryID) {
        guard !slots.isEmpty else { return }
        let taken = slots[slot(of: id, mask: slots.count - 1)]
        guard taken != 0 else { return }
        ids.withUnsafeBufferPointer { coop_prefetch($0.baseAddress! + Int(taken - 1)) }
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
        var i = slot(of: id, mask: mask)
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
            var i = slot(of: id, mask: mask)
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
