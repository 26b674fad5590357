import Testing

@testable import CoopLedger

/// ``EntryID``'s initializers (the word-at-a-time one the decoders use, the generic one, the digest one) and its
/// byte views agree with each other and with the byte-wise order.
@Suite("EntryID")
struct EntryIDTests {
    static func bytes(_ g: inout SplitMix64, count: Int = 32) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: g.next()) }
    }

    @Test("every initializer gives the same id, and the id gives its bytes back")
    func initializersAgree() {
        var g = SplitMix64(seed: 0x1D)
        for _ in 0..<2_000 {
            let b = Self.bytes(&g)
            let fromArray = EntryID(bytes: b)
            let fromSlice = EntryID(bytes: ([0xEE] + b + [0xEE])[1...32])
            let fromRaw = b.withUnsafeBytes { EntryID(raw: $0) }
            // A collection without contiguous storage takes the byte-by-byte path.
            let fromSequence = EntryID(bytes: b.lazy.map { $0 })
            #expect(fromArray != nil)
            #expect(fromArray == fromSlice)
            #expect(fromArray == fromRaw)
            #expect(fromArray == fromSequence)
            #expect(fromArray?.bytes == b)
            #expect(fromArray?.withUnsafeBytes { [UInt8]($0) } == b)
        }
    }

    @Test("lengths other than 32 give nil on every path", arguments: [0, 1, 31, 33, 64])
    func wrongLength(count: Int) {
        var g = SplitMix64(seed: UInt64(count))
        let b = Self.bytes(&g, count: count)
        #expect(EntryID(bytes: b) == nil)
        #expect(EntryID(bytes: b[...]) == nil)
        #expect(EntryID(bytes: b.lazy.map { $0 }) == nil)
        #expect(b.withUnsafeBytes { EntryID(raw: $0) } == nil)
    }

    @Test("the order of ids is the byte-wise order of their bytes")
    func order() {
        var g = SplitMix64(seed: 0x2E)
        for _ in 0..<2_000 {
            var a = Self.bytes(&g)
            var b = Self.bytes(&g)
            // Often equal up to a late byte, so that every word of the comparison is reached.
            if g.next() % 2 == 0 {
                let k = Int(g.next() % 32)
                b = Array(a[..<k]) + b[k...]
            }
            if g.next() % 5 == 0 { a = b }
            let x = EntryID(bytes: a)!
            let y = EntryID(bytes: b)!
            #expect((x < y) == a.lexicographicallyPrecedes(b))
            #expect((x == y) == (a == b))
        }
    }

    @Test("the id of a digest is SHA-256 (FIPS 180-2's \"abc\")")
    func digest() {
        let id = EntryID(digestOf: Array("abc".utf8))
        #expect(id.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
