import CoopTestKit
import CoopWire
import Testing

@Suite("Round trips of every message type")
struct RoundTripTests {
    static let names = WireTypes.all.keys.sorted()

    @Test("every type has a Swift type and a protobuf-c descriptor", arguments: names)
    func registryAgrees(name: String) throws {
        let type = try #require(WireTypes.all[name])
        #expect(type.protoName == name)
        #expect(MessageRegistry.messageNames.contains(name))
    }

    @Test("an empty message encodes to no bytes and decodes back", arguments: names)
    func empty(name: String) throws {
        let type = try #require(WireTypes.all[name])
        let message = type.init()
        #expect(message.wireBytes().isEmpty)
        let decoded = try type.init(wireBytes: [UInt8]())
        #expect(AnyHashable(decoded) == AnyHashable(message))
        #expect(try ProtoJSON.json(messageName: name, bytes: []) == .object([]))
    }

    /// Property: for random values of every field (seeded), JSON → bytes → Swift value → bytes is the identity,
    /// and the Swift value's JSON is the JSON we started from.
    @Test("random messages survive JSON → binary → Swift → binary → JSON", arguments: names)
    func random(name: String) throws {
        let type = try #require(WireTypes.all[name])
        var rng = SeededRandom(seed: name.utf8.reduce(0xC00B_0001 as UInt64) { $0 &* 31 &+ UInt64($1) })
        for round in 0..<25 {
            let json = try RandomMessage.json(name, using: &rng, density: round == 0 ? 1.0 : 0.7)
            let bytes = try ProtoJSON.bytes(messageName: name, json: json)
            let value = try type.init(wireBytes: bytes)
            #expect(value.wireBytes() == bytes, "\(name) round \(round): re-encoding differs")
            let back = try ProtoJSON.json(messageName: name, bytes: value.wireBytes())
            #expect(back == json, "\(name) round \(round): JSON differs")
        }
    }

    @Test("Chinese text and extreme integers keep their exact values")
    func chineseAndExtremes() throws {
        let body = EntryBody(
            origin: "cq-shapingba",
            sequence: .max,
            previous: Array(repeating: 0xAB, count: 32),
            timestamp: HybridTimestamp(wallMs: 9_007_199_254_740_993, logical: .max),
            parents: [[0], [1, 2, 3]],
            payload: .statusUpdate(
                StatusUpdate(
                    itemId: "CY-05",
                    status: .delayed,
                    progress: 100,
                    note: "中欧班列(成渝)开行量8000列，进度滞后，开展专题督导。🚄",
                    reporter: "区物流办·王",
                    assignee: "国际物流枢纽公司"
                )
            )
        )
        let decoded = try EntryBody(wireBytes: body.wireBytes())
        #expect(decoded == body)
        let json = try ProtoJSON.json(body)
        #expect(json["sequence"] == .string("18446744073709551615"))
        #expect(json["timestamp"]?["wallMs"] == .string("9007199254740993"))
        #expect(json["statusUpdate"]?["note"] == .string("中欧班列(成渝)开行量8000列，进度滞后，开展专题督导。🚄"))
        #expect(json["statusUpdate"]?["status"] == .string("ITEM_STATUS_DELAYED"))
    }

    @Test(
        "each oneof case round-trips",
        arguments: [
            EntryBody.Payload.statusUpdate(StatusUpdate(itemId: "CY-01", status: .completed, progress: 100)),
            .comment(Comment(itemId: "CY-02", text: "请成都方确认", author: "李")),
            .signOff(SignOff(itemId: "CY-03", entryId: Array(repeating: 7, count: 32), signer: "张")),
        ]
    )
    func oneofCases(payload: EntryBody.Payload) throws {
        let body = EntryBody(origin: "cd-wuhou", sequence: 2, payload: payload)
        #expect(try EntryBody(wireBytes: body.wireBytes()).payload == payload)
    }

    @Test("encoding is deterministic: fields in field-number order")
    func deterministic() throws {
        let signed = SignedEntry(body: [1, 2, 3], signature: [9])
        #expect(signed.wireBytes() == [0x0A, 3, 1, 2, 3, 0x12, 1, 9])
    }
}
