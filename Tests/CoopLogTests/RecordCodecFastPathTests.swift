import CoopLedger
import CoopTestKit
import CoopWire
import Testing

@testable import CoopLog

/// ``RecordCodec/canonicalSignedEntryFields(_:)`` finds exactly the `SignedEntry` encodings that protobuf-c decodes
/// and re-encodes to the same bytes (the canonical-entry rule it replaces on the hot path), and their body and
/// signature.
@Suite("Record decoding: the canonical SignedEntry check")
struct RecordCodecFastPathTests {
    static func mutate(_ input: [UInt8], _ g: inout FastRandom) -> [UInt8] {
        var b = input
        switch g.next() % 6 {
        case 0 where !b.isEmpty: b[Int(g.next() % UInt64(b.count))] ^= UInt8(1 << (g.next() % 8))
        case 1 where !b.isEmpty: b.removeSubrange(Int(g.next() % UInt64(b.count))...)
        case 2: b.insert(UInt8(truncatingIfNeeded: g.next()), at: Int(g.next() % UInt64(b.count + 1)))
        case 3: b += [0x0A, 0x00]
        case 4: b = [0x12, 0x01, 0x00] + b
        default: b += [UInt8(truncatingIfNeeded: g.next() & 0x7F), 0x00]
        }
        return b
    }

    /// The tests' seeded SplitMix64.
    typealias FastRandom = SeededRandom

    @Test("agrees with decoding and re-encoding on random and damaged entries")
    func agrees() {
        var g = FastRandom(seed: 77)
        var canonical = 0
        for round in 0..<6000 {
            var bytes = SignedEntry(body: g.bytes(upTo: 300), signature: g.bytes(upTo: 70)).wireBytes()
            if round % 2 == 1 { bytes = Self.mutate(bytes, &g) }
            let reference: [[UInt8]]? = {
                guard let signed = try? SignedEntry(wireBytes: bytes), signed.wireBytes() == bytes else { return nil }
                return [signed.body, signed.signature]
            }()
            let fast = bytes.withUnsafeBytes { RecordCodec.canonicalSignedEntryFields($0) }.map {
                [Array(bytes[$0.body]), Array(bytes[$0.signature])]
            }
            #expect(fast == reference, "\(bytes)")
            if reference != nil { canonical += 1 }
        }
        #expect(canonical > 3000)
    }
}

extension SplitMix64 {
    /// Up to `max` random bytes (a random length).
    fileprivate mutating func bytes(upTo max: UInt64) -> [UInt8] {
        (0..<(next() % (max + 1))).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}
