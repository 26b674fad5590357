import CoopWire
import Testing

@Suite("Canonical JSON mapping")
struct JSONMappingTests {
    @Test("lowerCamelCase and .proto names, enum names and numbers, int64 as string or number, base64 bytes")
    func accepted() throws {
        let json = try JSONParser.parse(
            """
            {"origin": "cd-wuhou", "sequence": 5, "previous": "AAEC",
             "timestamp": {"wall_ms": "1700000000000", "logical": 1},
             "sign_off": {"itemId": "CY-01", "entryId": "-_8=", "signer": "张三"}}
            """
        )
        let body = try ProtoJSON.decode(EntryBody.self, from: json)
        #expect(body.sequence == 5)
        #expect(body.previous == [0, 1, 2])
        #expect(body.timestamp?.wallMs == 1_700_000_000_000)
        guard case .signOff(let s)? = body.payload else {
            Issue.record("payload is \(String(describing: body.payload))")
            return
        }
        #expect(s.entryId == [0xFB, 0xFF])
        #expect(s.signer == "张三")
        let status = try ProtoJSON.decode(
            StatusUpdate.self,
            from: try JSONParser.parse(#"{"status": 5}"#)
        )
        #expect(status.status == .completed)
    }

    @Test("output: defaults omitted, names lowerCamelCase, enums by name, 64-bit as strings, bytes base64")
    func written() throws {
        let hello = Hello(protocolVersion: 1, nodeId: "cq-shapingba", side: .chongqing, catalogHash: [0xFF, 0xEE])
        let text = JSONWriter.write(try ProtoJSON.json(hello), pretty: false)
        #expect(text == #"{"protocolVersion":1,"nodeId":"cq-shapingba","side":"SIDE_CHONGQING","catalogHash":"/+4="}"#)
        let v = OriginSequence(origin: "o", sequence: 1 << 60)
        #expect(
            JSONWriter.write(try ProtoJSON.json(v), pretty: false)
                == #"{"origin":"o","sequence":"1152921504606846976"}"#
        )
    }

    @Test(
        "mapping errors name the message, field and problem",
        arguments: [
            (#"{"bogus": 1}"#, "coop.v1.StatusUpdate: unknown field \"bogus\" (line 1)"),
            (
                #"{"progress": "x"}"#,
                "coop.v1.StatusUpdate.progress (line 1): \"x\" is not an integer in the range of UInt32"
            ),
            (#"{"progress": -1}"#, "is not an integer in the range of UInt32"),
            (#"{"status": "DONE"}"#, "\"DONE\" is not a value of coop.v1.ItemStatus"),
            (#"{"note": 7}"#, "coop.v1.StatusUpdate.note (line 1): expected a string, found a number"),
            (#"{"note": "a", "note": "b"}"#, "given twice"),
            (#"{"itemId": "x", "item_id": "y"}"#, "given twice"),
            ("[1]", "expected an object for coop.v1.StatusUpdate, found an array"),
        ]
    )
    func mappingErrors(input: String, expected: String) throws {
        let error = #expect(throws: WireError.self) {
            try ProtoJSON.bytes(messageName: "coop.v1.StatusUpdate", json: try JSONParser.parse(input))
        }
        #expect(error?.code == .jsonMapping)
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
    }

    @Test("a oneof with two cases set is refused")
    func oneofTwice() throws {
        let json = try JSONParser.parse(#"{"comment": {}, "signOff": {}}"#)
        let error = #expect(throws: WireError.self) {
            try ProtoJSON.bytes(messageName: "coop.v1.EntryBody", json: json)
        }
        #expect(error?.message.contains("belong to one oneof") == true)
    }

    @Test("bad base64 is refused")
    func badBase64() throws {
        let json = try JSONParser.parse(#"{"body": "@@@"}"#)
        let error = #expect(throws: WireError.self) {
            try ProtoJSON.bytes(messageName: "coop.v1.SignedEntry", json: json)
        }
        #expect(error?.message.contains("is not base64") == true)
    }

    @Test(
        "syntax errors give line and column",
        arguments: [
            ("{\n  \"a\": [1, 2,]\n}", "line 2, column 14"),
            ("{\"a\" 1}", "line 1, column 6: expected ':'"),
            ("\"abc", "unterminated string"),
            ("{} x", "unexpected text after the JSON value"),
            ("[01]", "expected ',' or ']'"),
            ("\"\\ud800\"", "unpaired UTF-16 surrogate"),
            (String(repeating: "[", count: 200), "nested more than 100 levels"),
        ]
    )
    func syntaxErrors(input: String, expected: String) {
        let error = #expect(throws: WireError.self) { try JSONParser.parse(input) }
        #expect(error?.code == .invalidJSON)
        #expect(error?.message.contains(expected) == true, "\(error?.message ?? "")")
    }

    @Test("an unknown message type is named")
    func unknownType() {
        let error = #expect(throws: WireError.self) { try ProtoJSON.json(messageName: "coop.v1.Nope", bytes: []) }
        #expect(error?.code == .unknownMessageType)
        #expect(error?.message.contains("'coop.v1.Nope'") == true)
    }

    @Test("JSON strings: escapes and surrogate pairs parse; writer escapes control characters only")
    func strings() throws {
        let v = try JSONParser.parse(#"["a\"b\\c\n", "\u00e9\ud83d\ude84", "沙坪坝"]"#)
        #expect(v == .array([.string("a\"b\\c\n"), .string("é🚄"), .string("沙坪坝")]))
        #expect(JSONWriter.write(.string("沙\u{1}\n"), pretty: false) == #""沙\u0001\n""#)
    }

    @Test("base64 round trip for all lengths")
    func base64() {
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.decode("YQ") == [0x61])
        #expect(Base64.decode("Y") == nil)
        #expect(Base64.decode("YQ==YQ==") == nil)
    }

    @Test("services and streaming methods come from protoc-c's service descriptors")
    func services() throws {
        let names = MessageRegistry.services.map(\.name)
        #expect(names.contains("coop.v1.Ledger"))
        #expect(names.contains("coop.v1.Health"))
        let sync = try #require(MessageRegistry.services.first { $0.name == "coop.v1.Sync" })
        let pull = try #require(sync.methods.first { $0.name == "Pull" })
        #expect(pull.fullName == "/coop.v1.Sync/Pull")
        #expect(pull.inputType == "coop.v1.PullRequest")
        #expect(pull.serverStreaming)
        #expect(sync.methods.first { $0.name == "Digest" }?.serverStreaming == false)
        #expect(MessageRegistry.fileDescriptorSet.count > 1000)
    }
}
