import CoopTestKit
import CoopWire
import Testing

@Suite("Malformed input gives a typed error, never a crash")
struct MalformedInputTests {
    static let sample = EntryBody(
        origin: "cq-shapingba",
        sequence: 42,
        previous: Array(repeating: 1, count: 32),
        timestamp: HybridTimestamp(wallMs: 1_700_000_000_000, logical: 3),
        parents: [Array(repeating: 2, count: 32)],
        payload: .statusUpdate(StatusUpdate(itemId: "CY-07", status: .inProgress, progress: 40, note: "推进中"))
    )

    private func wireError(_ bytes: [UInt8]) -> WireError? {
        do {
            _ = try EntryBody(wireBytes: bytes)
            return nil
        } catch let e as WireError {
            return e
        } catch {
            Issue.record("not a WireError: \(error)")
            return nil
        }
    }

    @Test("every truncation either decodes or throws .malformed")
    func truncated() {
        let bytes = Self.sample.wireBytes()
        var refused = 0
        for cut in 0..<bytes.count {
            if let e = wireError(Array(bytes[..<cut])) {
                #expect(e.code == .malformed, "cut at \(cut): \(e)")
                #expect(e.message.contains("coop.v1.EntryBody"))
                refused += 1
            }
        }
        #expect(refused > bytes.count / 2)
    }

    @Test("a length prefix past the end names the field and offset")
    func lengthPastEnd() throws {
        let e = try #require(wireError([0x0A, 0x05, 0x61, 0x62]))
        #expect(e.code == .malformed)
        #expect(e.message == "coop.v1.EntryBody.origin at byte 1: length 5 runs past the end (2 bytes left)")
    }

    @Test("a huge length prefix is refused")
    func hugeLength() throws {
        let e = try #require(wireError([0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x61]))
        #expect(e.code == .malformed)
        #expect(e.message.contains("runs past the end"))
    }

    @Test("a wrong wire type names field and types")
    func wrongWireType() throws {
        // Field 1 (origin, a string) sent as a varint.
        let e = try #require(wireError([0x08, 0x01]))
        #expect(e.code == .malformed)
        #expect(e.message.contains("coop.v1.EntryBody.origin (field 1) at byte 0: wire type 0 (varint)"))
    }

    @Test(
        "invalid wire types 6 and 7 and group types are refused",
        arguments: [[0x0E, 0x00], [0x0F, 0x00], [0x0B, 0x0C]] as [[UInt8]]
    )
    func invalidWireTypes(bytes: [UInt8]) throws {
        let e = try #require(wireError(bytes))
        #expect(e.code == .malformed)
    }

    @Test("invalid UTF-8 in a string is .invalidUTF8, naming the field")
    func invalidUTF8() throws {
        let e = try #require(wireError([0x0A, 0x02, 0xFF, 0xFE]))
        #expect(e.code == .invalidUTF8)
        #expect(e.message.contains("coop.v1.EntryBody.origin"))
        // Nested: StatusUpdate.note inside the payload.
        let nested: [UInt8] = [0x52, 0x04, 0x22, 0x02, 0xC3, 0x28]
        let e2 = try #require(wireError(nested))
        #expect(e2.code == .invalidUTF8)
        #expect(e2.message.contains("coop.v1.EntryBody.status_update.note at byte 4: string is not valid UTF-8"))
    }

    @Test("NUL inside a string is refused, not silently cut (protobuf-c strings end at NUL)")
    func nulInString() throws {
        let bytes: [UInt8] = [0x5A, 0x0C, 0x0A, 0x01, 0x78, 0x12, 0x07] + Array("abc".utf8) + [0] + Array("def".utf8)
        let e = try #require(wireError(bytes))
        #expect(e.code == .malformed)
        #expect(e.message.contains("coop.v1.EntryBody.comment.text at byte 7: string contains a NUL character"))
    }

    @Test("a singular message field given twice is refused (protobuf-c would keep only the last)")
    func duplicateMessageField() throws {
        let ts1: [UInt8] = [0x22, 0x02, 0x08, 0x05]
        let ts2: [UInt8] = [0x22, 0x02, 0x10, 0x02]
        let e = try #require(wireError([0x0A, 0x01, 0x61] + ts1 + ts2))
        #expect(e.code == .malformed)
        #expect(e.message.contains("coop.v1.EntryBody.timestamp at byte 7: a singular message field given twice"))
    }

    @Test("unknown fields are skipped (forward compatibility)")
    func unknownFields() throws {
        var bytes = Self.sample.wireBytes()
        bytes += [0xA0, 0x06, 0x2A]  // field 100, varint 42
        bytes += [0xAA, 0x06, 0x03, 0x61, 0x62, 0x63]  // field 101, "abc"
        #expect(try EntryBody(wireBytes: bytes) == Self.sample)
    }

    @Test("an unknown enum value is .unknownEnumValue, naming field and enum")
    func unknownEnum() throws {
        // payload.status_update.status = 99
        let e = try #require(wireError([0x52, 0x02, 0x10, 0x63]))
        #expect(e.code == .unknownEnumValue)
        #expect(e.message == "coop.v1.StatusUpdate.status: 99 is not a value of coop.v1.ItemStatus")
    }

    @Test("random garbage never crashes (seeded)")
    func garbage() {
        var rng = SeededRandom(seed: 0x5EED_0002)
        var decoded = 0
        for _ in 0..<3000 {
            let bytes = rng.bytes(Int.random(in: 0...64, using: &rng))
            if wireError(bytes) == nil { decoded += 1 }
        }
        // Most random bytes are invalid; a few happen to be valid encodings.
        #expect(decoded < 3000)
    }

    @Test("bit flips of a valid encoding never crash (seeded)")
    func bitFlips() {
        var rng = SeededRandom(seed: 0x5EED_0003)
        let bytes = Self.sample.wireBytes()
        for _ in 0..<2000 {
            var b = bytes
            let i = Int.random(in: 0..<b.count, using: &rng)
            b[i] ^= 1 << UInt8.random(in: 0...7, using: &rng)
            _ = wireError(b)
        }
    }
}
