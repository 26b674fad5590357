import CoopTestKit
import Testing

@testable import CoopWire

/// ``FastDecode`` (the log's hot messages read without protobuf-c) against protobuf-c, the reference: on every
/// input the fast reader accepts, protobuf-c must accept too and give the same value; whatever the fast reader
/// declines, the public decoders hand to protobuf-c.
@Suite("Fast decoding agrees with protobuf-c")
struct FastDecodeTests {
    /// The tests' seeded SplitMix64: the same inputs on every run.
    typealias Random = SeededRandom

    static let texts = ["", "cq-shapingba", "CY-07", "任务已完成，等待签收", "staff.shapingba.wang", "a", "é", "🚧 delayed"]

    static func text(_ g: inout Random) -> String {
        let base = texts.randomElement(using: &g)!
        return Bool.random(using: &g) ? base : base + String(repeating: "x", count: Int.random(in: 0...200, using: &g))
    }

    static func bytes(_ g: inout Random, max: Int = 40) -> [UInt8] {
        (0..<Int.random(in: 0...max, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    static func number(_ g: inout Random) -> UInt64 {
        switch Int.random(in: 0..<4, using: &g) {
        case 0: 0
        case 1: UInt64.random(in: 1...300, using: &g)
        case 2: UInt64.random(in: 0...UInt64(1) << 50, using: &g)
        default: UInt64.random(in: 0...UInt64.max, using: &g)
        }
    }

    static func body(_ g: inout Random) -> EntryBody {
        var b = EntryBody(origin: text(&g), sequence: number(&g), previous: bytes(&g))
        if Bool.random(using: &g) {
            b.timestamp = HybridTimestamp(wallMs: number(&g), logical: UInt32.random(in: 0...UInt32.max, using: &g))
        }
        b.parents = (0..<Int.random(in: 0...3, using: &g)).map { _ in bytes(&g) }
        switch Int.random(in: 0..<4, using: &g) {
        case 0:
            b.payload = .statusUpdate(
                StatusUpdate(
                    itemId: text(&g),
                    status: ItemStatus.allCases.randomElement(using: &g)!,
                    progress: UInt32.random(in: 0...UInt32.max, using: &g) >> UInt32.random(in: 0...31, using: &g),
                    note: text(&g),
                    reporter: text(&g),
                    assignee: text(&g)
                )
            )
        case 1: b.payload = .comment(Comment(itemId: text(&g), text: text(&g), author: text(&g)))
        case 2: b.payload = .signOff(SignOff(itemId: text(&g), entryId: bytes(&g), signer: text(&g), note: text(&g)))
        default: break
        }
        return b
    }

    /// Damage of the kinds a torn, tampered or foreign encoding shows.
    static func mutate(_ input: [UInt8], _ g: inout Random) -> [UInt8] {
        var b = input
        switch Int.random(in: 0..<8, using: &g) {
        case 0 where !b.isEmpty: b[Int.random(in: 0..<b.count, using: &g)] ^= 1 << UInt8.random(in: 0...7, using: &g)
        case 1 where !b.isEmpty: b[Int.random(in: 0..<b.count, using: &g)] = UInt8.random(in: 0...255, using: &g)
        case 2 where !b.isEmpty: b.removeSubrange(Int.random(in: 0..<b.count, using: &g)...)
        case 3: b.insert(UInt8.random(in: 0...255, using: &g), at: Int.random(in: 0...b.count, using: &g))
        case 4 where !b.isEmpty:
            let start = Int.random(in: 0..<b.count, using: &g)
            let end = Int.random(in: start...b.count, using: &g)
            b.insert(contentsOf: b[start..<end], at: Int.random(in: 0...b.count, using: &g))
        case 5:
            // An unknown or known field of any wire type appended.
            b += [UInt8.random(in: 0...0x7F, using: &g), 0x01, UInt8.random(in: 0...255, using: &g)]
        case 6 where !b.isEmpty:
            b.remove(at: Int.random(in: 0..<b.count, using: &g))
        default:
            b.append(contentsOf: bytes(&g, max: 4))
        }
        return b
    }

    /// The fast reader's answer is `nil` or protobuf-c's value; the public decoder agrees with protobuf-c.
    static func check<M: CBacked>(_ type: M.Type, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { raw in
            let reference = Result { try WireCodec.referenceDecode(M.self, from: raw) }
            let viaPublic = Result { try M(wireBytes: raw) }
            switch (reference, viaPublic) {
            case (.success(let a), .success(let b)): #expect(a == b, "\(bytes)")
            case (.failure(let a), .failure(let b)): #expect("\(a)" == "\(b)", "\(bytes)")
            default:
                Issue.record("protobuf-c and the public decoder disagree on \(bytes): \(reference) vs \(viaPublic)")
            }
            guard let fast = M.fastDecode(raw) else { return false }
            #expect((try? reference.get()) == fast, "the fast reader took \(bytes), protobuf-c gave \(reference)")
            return true
        }
    }

    /// `EntryBody.decode(_:keepingPrevious: false)` (replay's decoder) refuses what the public decoder refuses, with
    /// the same error, and otherwise gives its value with `previous` empty; with `true`, exactly the public value.
    static func checkWithoutPrevious(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            let full = Result { try EntryBody(wireBytes: raw) }
            for keeping in [false, true] {
                let read = Result { try EntryBody.decode(raw, keepingPrevious: keeping) }
                switch (full, read) {
                case (.success(var expected), .success(let got)):
                    if !keeping { expected.previous = [] }
                    #expect(got == expected, "\(bytes), keeping previous: \(keeping)")
                case (.failure(let a), .failure(let b)): #expect("\(a)" == "\(b)", "\(bytes)")
                default: Issue.record("keeping previous \(keeping): \(read) for \(bytes), the public decoder \(full)")
                }
            }
        }
    }

    @Test("random entry bodies: the fast reader takes the canonical encodings and gives protobuf-c's values")
    func randomBodies() {
        var g = Random(seed: 0x5EED_0001)
        var taken = 0
        var small = 0
        for _ in 0..<3000 {
            let body = Self.body(&g)
            let bytes = body.wireBytes()
            let fits =
                body.sequence < 1 << 63 && (body.timestamp?.wallMs ?? 0) < 1 << 63
            if fits { small += 1 }
            if Self.check(EntryBody.self, bytes) { taken += 1 } else { #expect(!fits, "declined \(body)") }
            Self.checkWithoutPrevious(bytes)
            let signed = SignedEntry(body: bytes, signature: Self.bytes(&g, max: 64))
            #expect(Self.check(SignedEntry.self, signed.wireBytes()))
        }
        #expect(taken == small)
    }

    @Test("damaged encodings: what the fast reader accepts, protobuf-c accepts with the same value")
    func damaged() {
        var g = Random(seed: 0x5EED_0002)
        var taken = 0
        var refused = 0
        for _ in 0..<4000 {
            var bytes = Self.body(&g).wireBytes()
            for _ in 0..<Int.random(in: 1...3, using: &g) { bytes = Self.mutate(bytes, &g) }
            if Self.check(EntryBody.self, bytes) { taken += 1 }
            Self.checkWithoutPrevious(bytes)
            if (try? bytes.withUnsafeBytes { try WireCodec.referenceDecode(EntryBody.self, from: $0) }) == nil {
                refused += 1
            }
            var signed = SignedEntry(body: Self.bytes(&g), signature: Self.bytes(&g, max: 64)).wireBytes()
            signed = Self.mutate(signed, &g)
            _ = Self.check(SignedEntry.self, signed)
        }
        // Both kinds of outcome were exercised.
        #expect(taken > 100)
        #expect(refused > 100)
    }

    /// Hand-made encodings at the edges of the two decoders.
    static let edges: [(String, [UInt8])] = [
        ("empty", []),
        ("non-shortest varint (accepted by both)", [0x10, 0x85, 0x80, 0x00]),
        ("10-byte sequence", [0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
        ("11-byte varint", [0x10] + [UInt8](repeating: 0xFF, count: 10) + [0x01]),
        ("a field twice (last wins in protobuf-c)", [0x10, 0x01, 0x10, 0x02]),
        ("fields out of order", [0x10, 0x01, 0x0A, 0x01, 0x61]),
        ("string with NUL", [0x0A, 0x03, 0x61, 0x00, 0x62]),
        ("invalid UTF-8", [0x0A, 0x02, 0xC3, 0x28]),
        ("unknown field", [0x10, 0x01, 0x78, 0x05]),
        ("field number 0", [0x02, 0x00]),
        ("wrong wire type", [0x0B, 0x01]),
        ("unknown enum value", [0x52, 0x02, 0x10, 0x08]),
        ("status of 6 varint bytes", [0x52, 0x07, 0x10, 0x83, 0x80, 0x80, 0x80, 0x80, 0x00]),
        ("negative status", [0x52, 0x0B, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
        ("progress over 32 bits", [0x52, 0x07, 0x18, 0x80, 0x80, 0x80, 0x80, 0x10]),
        ("two payloads", [0x52, 0x00, 0x5A, 0x00]),
        ("the same payload twice", [0x52, 0x00, 0x52, 0x00]),
        ("empty sub-messages", [0x22, 0x00, 0x62, 0x00]),
        ("timestamp twice", [0x22, 0x02, 0x08, 0x01, 0x22, 0x02, 0x08, 0x02]),
        ("parents split by another field", [0x2A, 0x01, 0x01, 0x52, 0x00, 0x2A, 0x01, 0x02]),
        ("parents together", [0x2A, 0x01, 0x01, 0x2A, 0x00, 0x2A, 0x01, 0x02]),
        ("length past the end", [0x1A, 0x05, 0x01]),
        ("6-byte length", [0x1A, 0x81, 0x80, 0x80, 0x80, 0x80, 0x00]),
        ("non-shortest length", [0x1A, 0x81, 0x00, 0x07]),
        ("truncated key", [0x80]),
        ("two-byte key for field 1", [0x8A, 0x00, 0x00]),
        ("group", [0x0B, 0x0C]),
    ]

    @Test("edge encodings", arguments: edges.indices)
    func edge(_ index: Int) {
        let (_, bytes) = Self.edges[index]
        _ = Self.check(EntryBody.self, bytes)
        _ = Self.check(SignedEntry.self, bytes)
        _ = Self.check(StatusUpdate.self, bytes)
        _ = Self.check(Comment.self, bytes)
        _ = Self.check(SignOff.self, bytes)
        _ = Self.check(HybridTimestamp.self, bytes)
    }

    /// Bytes near valid UTF-8: pieces of the texts above, lone continuation bytes, truncated and overlong
    /// sequences, surrogates, NUL, and a truncated 4-byte sequence before ASCII (repaired into U+FFFD of the same
    /// length, so only a byte comparison tells it from valid text).
    static func nearUTF8(_ g: inout Random) -> [UInt8] {
        let pieces: [[UInt8]] =
            texts.map { Array($0.utf8) } + [
                [0x80], [0xBF], [0xC3], [0xC0, 0x80], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF1, 0x80, 0x80],
                [0xF4, 0x90, 0x80, 0x80], [0xFF], [0x00], [0x41], Array("12345678".utf8),
            ]
        var out: [UInt8] = []
        for _ in 0..<Int.random(in: 0...4, using: &g) { out += pieces.randomElement(using: &g)! }
        return out
    }

    @Test("string fields: taken exactly when they are valid UTF-8 without NUL, at every length")
    func strings() {
        var g = Random(seed: 0x5717)
        var taken = 0
        var refused = 0
        let fixed: [[UInt8]] =
            (0..<64).map { [UInt8](repeating: 0x61, count: $0) } + [
                [0xF1, 0x80, 0x80, 0x41], Array("任务已完成".utf8) + [0xF1, 0x80, 0x80, 0x41], [0xE4, 0xBB, 0x41],
            ]
        for round in 0..<20_000 {
            let text = round < fixed.count ? fixed[round] : Self.nearUTF8(&g)
            let field = [UInt8(text.count)] + text
            precondition(text.count < 128)
            let read = field.withUnsafeBytes { raw -> String? in
                var reader = FastDecode.Reader(raw)!
                return reader.string()
            }
            let expected = text.contains(0) ? nil : String(validating: text, as: UTF8.self)
            #expect(read == expected, "bytes \(text)")
            if read == nil { refused += 1 } else { taken += 1 }
        }
        #expect(taken > 1_000)
        #expect(refused > 1_000)
    }

    /// The word-wise NUL check against a byte-wise one: one zero at every position of every length to 40, at every
    /// offset in a word, among bytes that trip a sloppy bit trick (0x01, 0x80, 0x81, 0xFF); and random bytes.
    @Test("NUL in a string field is found at every position, and only there")
    func zeroBytes() {
        var g = Random(seed: 0x2E60)
        let fillers: [UInt8] = [0x01, 0x80, 0x81, 0xFF, 0x7F, 0x61]
        var checked = 0
        for count in 0...40 {
            for offset in 0..<8 {
                var bytes = (0..<(count + offset)).map { _ in fillers.randomElement(using: &g)! }
                let found = bytes.withUnsafeBytes { FastDecode.Reader.containsZero(.init(rebasing: $0[offset...])) }
                #expect(!found, "\(bytes[offset...]) has no zero")
                for at in offset..<bytes.count {
                    let kept = bytes[at]
                    bytes[at] = 0
                    let found = bytes.withUnsafeBytes { FastDecode.Reader.containsZero(.init(rebasing: $0[offset...])) }
                    #expect(found, "a zero at \(at - offset) of \(count)")
                    bytes[at] = kept
                    checked += 1
                }
            }
        }
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...48, using: &g)).map { _ in UInt8.random(in: 0...255, using: &g) }
            #expect(bytes.withUnsafeBytes { FastDecode.Reader.containsZero($0) } == bytes.contains(0))
        }
        #expect(checked == 8 * (0...40).reduce(0, +))
    }
}
