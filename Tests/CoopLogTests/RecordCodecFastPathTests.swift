import CoopLedger
import CoopTestKit
import CoopWire
import Crypto
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

    /// What a decode of a whole record gives, as comparable values: the entry's id and body, `nil` for evidence,
    /// or the error's message.
    static func outcome(
        _ decode: (UnsafeRawBufferPointer) throws -> (id: EntryID, body: EntryBody)?,
        _ payload: [UInt8]
    ) -> String {
        do {
            guard let (id, body) = try payload.withUnsafeBytes({ try decode($0) }) else { return "evidence" }
            return "\(id.hex) \(body.wireBytes())"
        } catch {
            return "error: \(error)"
        }
    }

    @Test("replay's decode of an entry record (no copies) takes and refuses exactly what the full decode does")
    func entryDecodeAgrees() throws {
        var g = FastRandom(seed: 78)
        let factory = try EntryFactory(origin: "cq-shapingba")
        var decoded = 0
        var refused = 0
        for round in 0..<4000 {
            let content: RecordContent
            if round % 10 == 9 {
                content = .evidence(
                    Equivocation(
                        first: SignedEntry(body: g.bytes(upTo: 40)),
                        second: SignedEntry(body: g.bytes(upTo: 40))
                    )
                )
            } else {
                let signed: [UInt8]
                if round % 3 == 0 {
                    // Bytes that are a SignedEntry in any layout, whatever its body holds.
                    signed = SignedEntry(body: g.bytes(upTo: 200), signature: g.bytes(upTo: 70)).wireBytes()
                } else {
                    let sequence = 1 + g.next() % 1000
                    let entry = factory.entry(
                        sequence: sequence,
                        // A previous entry's id for most (what replay's decode leaves out).
                        previous: sequence > 1 ? EntryID(digestOf: g.bytes(upTo: 40)) : nil,
                        payload: .comment(
                            Comment(itemId: "CY-01", text: String(repeating: "记", count: Int(g.next() % 40)))
                        )
                    )
                    signed = entry.wireBytes()
                }
                content = .entry(bytes: signed, id: EntryID(digestOf: signed))
            }
            var payload = RecordCodec.encode(content, after: RecordCodec.genesis).bytes
            if round % 2 == 1 { payload = Self.mutate(payload, &g) }
            let full = Self.outcome(
                {
                    let (record, body) = try RecordCodec.decodeWithBody($0, at: "record \(round)")
                    guard case .entry(_, let id) = record.content, let body else { return nil }
                    return (id, body)
                },
                payload
            )
            let lean = Self.outcome({ try RecordCodec.decodeEntry($0, at: "record \(round)") }, payload)
            #expect(lean == full, "\(payload)")
            // Replay's decode: the same outcome, with `previous` empty (the same records refused, with the same errors).
            let fullWithoutPrevious = Self.outcome(
                {
                    let (record, body) = try RecordCodec.decodeWithBody($0, at: "record \(round)")
                    guard case .entry(_, let id) = record.content, var body else { return nil }
                    body.previous = []
                    return (id, body)
                },
                payload
            )
            let leanWithoutPrevious = Self.outcome(
                { try RecordCodec.decodeEntry($0, keepingPrevious: false, at: "record \(round)") },
                payload
            )
            #expect(leanWithoutPrevious == fullWithoutPrevious, "\(payload)")
            if full.hasPrefix("error") { refused += 1 } else if full != "evidence" { decoded += 1 }
        }
        #expect(decoded > 1000 && refused > 1000)
    }
}

extension RecordCodecFastPathTests {
    @Test("the local chain value is SHA-256 of the previous value, the record's tag and its content's id")
    func chainValue() {
        var g = FastRandom(seed: 79)
        for round in 0..<2000 {
            // Chain values are 32 bytes; other lengths take the general path.
            let length = round % 50 == 0 ? Int(g.next() % 70) : 32
            let previous = (0..<length).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            let content: RecordContent
            let tag: UInt8
            let id: EntryID
            if round % 5 == 0 {
                let evidence = Equivocation(first: SignedEntry(body: g.bytes(upTo: 30)), second: SignedEntry())
                (content, tag, id) = (.evidence(evidence), 0x02, EntryID(digestOf: evidence.wireBytes()))
            } else {
                let bytes = g.bytes(upTo: 300)
                let entryID = EntryID(digestOf: bytes)
                (content, tag, id) = (.entry(bytes: bytes, id: entryID), 0x01, entryID)
            }
            let expected = Array(SHA256.hash(data: previous + [tag] + id.bytes))
            #expect(RecordCodec.chain(after: previous, content) == expected, "\(previous.count) bytes before")
        }
    }
}

extension SplitMix64 {
    /// Up to `max` random bytes (a random length).
    fileprivate mutating func bytes(upTo max: UInt64) -> [UInt8] {
        (0..<(next() % (max + 1))).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}
