import Testing

@testable import CoopLedger

/// The view's compact id set behaves as a `Set<EntryID>`.
@Suite("EntryIDSet")
struct EntryIDSetTests {
    static func id(_ g: inout SplitMix64, among pool: UInt64) -> EntryID {
        // Ids drawn from a small pool (so that inserts repeat), spread over all 32 bytes.
        let n = g.next() % pool
        var bytes = [UInt8](repeating: 0, count: 32)
        for k in 0..<32 { bytes[k] = UInt8(truncatingIfNeeded: (n &* 0x9E37_79B9_7F4A_7C15) >> UInt64((k % 8) * 8)) }
        bytes[31] = UInt8(truncatingIfNeeded: n)
        bytes[30] = UInt8(truncatingIfNeeded: n >> 8)
        return EntryID(bytes: bytes)!
    }

    @Test("inserts and lookups agree with Set<EntryID>, with and without reserved room", arguments: [0, 5000])
    func agreesWithSet(reserve: Int) {
        var g = SplitMix64(seed: 9)
        var set = EntryIDSet()
        set.reserveCapacity(reserve)
        var reference: Set<EntryID> = []
        for _ in 0..<20_000 {
            let id = Self.id(&g, among: 12_000)
            let (inserted, position) = set.insert(id)
            #expect(inserted == reference.insert(id).inserted)
            #expect(set.ids[position] == id)
            let probe = Self.id(&g, among: 24_000)
            #expect(set.contains(probe) == reference.contains(probe))
        }
        #expect(set.count == reference.count)
        #expect(Set(set.ids) == reference)
    }

    @Test("ids whose first bytes are equal still go to their own places")
    func sameFirstWord() {
        var set = EntryIDSet()
        let ids = (0..<1000).map { n in
            EntryID(
                bytes: [UInt8](repeating: 7, count: 24) + Array(repeating: UInt8(n % 256), count: 7) + [UInt8(n / 256)]
            )!
        }
        for (k, id) in ids.enumerated() {
            let (inserted, position) = set.insert(id)
            #expect(inserted && position == k)
        }
        for (k, id) in ids.enumerated() {
            let (inserted, position) = set.insert(id)
            #expect(!inserted && position == k)
        }
        #expect(set.count == 1000)
        #expect(!set.contains(EntryID(bytes: [UInt8](repeating: 7, count: 32))!))
    }

    @Test("a set made from an array keeps its order as the positions and refuses an array with a repeated id")
    func adopting() throws {
        var g = SplitMix64(seed: 3)
        var distinct: [EntryID] = []
        var reference: Set<EntryID> = []
        while distinct.count < 3000 {
            let id = Self.id(&g, among: 1 << 40)
            if reference.insert(id).inserted { distinct.append(id) }
        }
        var set = try #require(EntryIDSet(adopting: distinct, capacity: 5000))
        #expect(set.ids == distinct && set.count == 3000)
        for (k, id) in distinct.enumerated() {
            let (inserted, position) = set.insert(id)
            #expect(!inserted && position == k)
        }
        let probe = Self.id(&g, among: 1 << 40)
        #expect(set.contains(probe) == reference.contains(probe))
        let (inserted, position) = set.insert(probe)
        #expect(inserted != reference.contains(probe) && set.ids[position] == probe)
        #expect(EntryIDSet(adopting: distinct + [distinct[1234]], capacity: 0) == nil)
        #expect(EntryIDSet(adopting: [], capacity: 0)?.count == 0)
    }

    @Test("prefetch hints change nothing, on an empty set, a growing one and a full one")
    func prefetchChangesNothing() {
        var g = SplitMix64(seed: 11)
        var set = EntryIDSet()
        var reference: Set<EntryID> = []
        let probe = Self.id(&g, among: 1 << 40)
        set.prefetchSlot(of: probe)
        set.prefetchProbe(of: probe)
        #expect(set.count == 0 && !set.contains(probe))
        for _ in 0..<5000 {
            let id = Self.id(&g, among: 3000)
            set.prefetchSlot(of: id)
            set.prefetchProbe(of: id)
            #expect(set.insert(id).inserted == reference.insert(id).inserted)
        }
        #expect(Set(set.ids) == reference && set.count == reference.count)
    }
}
