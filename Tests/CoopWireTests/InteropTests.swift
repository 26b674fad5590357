// Interop with independent protobuf implementations, in both directions:
//
//   Swift → Python   CoopWire's bytes and canonical JSON are read by Google's Python runtime
//                    (Tests/interop/wire_interop.py check), which must get the same JSON and re-encode the same bytes.
//   Swift → protoc   `protoc --decode` (C++ runtime) prints CoopWire's bytes as the expected text format.
//   protoc → Swift   `protoc --encode` bytes decode in CoopWire to the expected values (and re-encode identically).
//   Python → Swift   Python-written samples decode in CoopWire, typed and through ProtoJSON, to Python's JSON,
//                    and re-encode to Python's bytes.
//
// Requires python3 with `google.protobuf` (pip install protobuf) and protoc (apt-get install protobuf-compiler).
// A missing tool fails the tests; it never skips them. See Tests/interop/README.md.

import CoopWire
import Foundation
import Testing

@Suite("Interop", .serialized)
struct InteropTests {
    // MARK: Swift → Python

    @Test("Swift → Python: google.protobuf reads CoopWire's bytes and JSON, re-encodes identical bytes")
    func swiftToPython() throws {
        try InteropTools.requirePython()
        let dir = try InteropScratchDirectory()
        defer { dir.remove() }

        let samples = try InteropSamples.all()
        #expect(samples.count >= 20)
        for sample in samples {
            try sample.write(to: dir.url)
        }

        let result = try InteropTools.run(["python3", InteropRepo.script.path, "check", dir.url.path])
        #expect(
            result.status == 0,
            """
            wire_interop.py check exited with \(result.status) for \(samples.count) Swift samples:
            \(result.stderr)\(result.stdoutText)
            """
        )
        #expect(result.stdoutText.contains("ok: \(samples.count) messages"), "stdout: \(result.stdoutText)")
    }

    // MARK: Swift → protoc --decode

    @Test("Swift → protoc --decode: EntryBody with Chinese note, max uint64, bytes and nested timestamp")
    func protocDecodesEntryBody() throws {
        try InteropTools.requireProtoc()
        let body = InteropSamples.statusBody
        let text = try InteropTools.protocDecode("coop.v1.EntryBody", body.wireBytes())

        // protoc prints non-ASCII string bytes as three-digit octal escapes; check the raw form once.
        let escapedNote = ProtocTextFormat.octalEscaped(Array(InteropSamples.chineseNote.utf8))
        #expect(text.contains("  note: \"\(escapedNote)\"\n"), "protoc output:\n\(text)")
        #expect(text.contains("sequence: 18446744073709551615\n"), "protoc output:\n\(text)")

        let expected: [ProtocTextField] = [
            .init("origin", .text("cq-shapingba")),
            .init("sequence", .scalar("18446744073709551615")),
            .init("previous", .bytes(InteropSamples.awkwardBytes)),
            .init("timestamp", .message),
            .init("timestamp.wall_ms", .scalar("1767225600123")),
            .init("timestamp.logical", .scalar("2")),
            .init("parents", .bytes(InteropSamples.id(1))),
            .init("parents", .bytes(InteropSamples.id(2))),
            .init("parents", .bytes(InteropSamples.id(3))),
            .init("status_update", .message),
            .init("status_update.item_id", .text("CY-07")),
            .init("status_update.status", .scalar("ITEM_STATUS_IN_PROGRESS")),
            .init("status_update.progress", .scalar("60")),
            .init("status_update.note", .text(InteropSamples.chineseNote)),
            .init("status_update.reporter", .text("staff.shapingba.wang")),
            .init("status_update.assignee", .text("重庆市沙坪坝区大数据发展局")),
        ]
        try expectProtocFields(text, expected)
    }

    @Test("Swift → protoc --decode: SignedEntry, ResponseHeader, Hello, ItemState, ClientFrame, Catalog")
    func protocDecodesOtherMessages() throws {
        try InteropTools.requireProtoc()

        let signed = InteropSamples.signedEntry
        try expectProtocFields(
            try InteropTools.protocDecode("coop.v1.SignedEntry", signed.wireBytes()),
            [
                .init("body", .bytes(InteropSamples.statusBody.wireBytes())),
                .init("signature", .bytes(InteropSamples.signature(18))),
            ]
        )

        try expectProtocFields(
            try InteropTools.protocDecode("coop.v1.ResponseHeader", InteropSamples.responseHeader.wireBytes()),
            [
                .init("call_id", .scalar("18446744073709551615")),
                .init("metadata", .message),
                .init("metadata.key", .text("coop-node")),
                .init("metadata.value", .text("cq-shapingba")),
                .init("metadata", .message),
                .init("metadata.key", .text("coop-heads-bin")),
                .init("metadata.binary_value", .bytes(InteropSamples.id(1) + InteropSamples.id(2))),
                .init("end_of_stream", .scalar("true")),
                .init("status", .message),
                .init("status.code", .scalar("STATUS_CODE_FAILED_PRECONDITION")),
                .init("status.message", .text("expected_heads 已过期：条目 CY-07 有 2 个当前头")),
                .init("status.reason", .text("STALE_HEADS")),
            ]
        )

        try expectProtocFields(
            try InteropTools.protocDecode("coop.v1.Hello", InteropSamples.hello.wireBytes()),
            [
                .init("protocol_version", .scalar("1")),
                .init("node_id", .text("cq-shapingba")),
                .init("side", .scalar("SIDE_CHONGQING")),
                .init("catalog_hash", .bytes(InteropSamples.id(10))),
                .init("roster_hash", .bytes(InteropSamples.id(11))),
                .init("version_vector", .message),
                .init("version_vector.origins", .message),
                .init("version_vector.origins.origin", .text("cd-qingbaijiang")),
                .init("version_vector.origins.sequence", .scalar("9007199254740993")),
                .init("version_vector.origins", .message),
                .init("version_vector.origins.origin", .text("cd-wuhou")),
                .init("version_vector.origins.sequence", .scalar("42")),
                .init("version_vector.origins", .message),
                .init("version_vector.origins.origin", .text("cq-shapingba")),
                .init("version_vector.origins.sequence", .scalar("18446744073709551615")),
                .init("heartbeat_interval_ms", .scalar("1000")),
                .init("heartbeat_liveness", .scalar("3")),
                .init("clock", .message),
                .init("clock.wall_ms", .scalar("1767225600999")),
                .init("clock.logical", .scalar("7")),
                .init("evidence_count", .scalar("4294967295")),
            ]
        )

        // Repeated enums are packed in proto3; protoc prints one line per element.
        try expectProtocFields(
            try InteropTools.protocDecode("coop.v1.ItemState", InteropSamples.itemState.wireBytes()),
            [
                .init("item_id", .text("CY-07")),
                .init("status", .scalar("ITEM_STATUS_COMPLETED")),
                .init("progress", .scalar("100")),
                .init("note", .text(InteropSamples.chineseNote)),
                .init("updated_by", .text("cq-shapingba")),
                .init("updated_at", .message),
                .init("updated_at.wall_ms", .scalar("18446744073709551615")),
                .init("updated_at.logical", .scalar("4294967295")),
                .init("head", .bytes(InteropSamples.id(1))),
                .init("heads", .bytes(InteropSamples.id(1))),
                .init("heads", .bytes(InteropSamples.id(2))),
                .init("signed_off", .scalar("SIDE_CHENGDU")),
                .init("signed_off", .scalar("SIDE_CHONGQING")),
                .init("awaiting_sign_off", .scalar("true")),
                .init("comments", .scalar("3")),
            ]
        )

        // A oneof case holding an all-zero message is still present: an empty submessage.
        let cancelZero = ClientFrame(kind: .cancel(CancelCall(callId: 0)))
        #expect(cancelZero.wireBytes() == [0x1a, 0x00])
        try expectProtocFields(
            try InteropTools.protocDecode("coop.v1.ClientFrame", cancelZero.wireBytes()),
            [.init("cancel", .message)]
        )
        try expectProtocFields(
            try InteropTools.protocDecode("coop.v1.ClientFrame", InteropSamples.clientFrameRequest.wireBytes()),
            [
                .init("request", .message),
                .init("request.call_id", .scalar("9007199254740993")),
                .init("request.method", .text("/coop.v1.Ledger/UpdateStatus")),
                .init("request.timeout_us", .scalar("18446744073709551615")),
                .init("request.metadata", .message),
                .init("request.metadata.key", .text("trace-bin")),
                .init("request.metadata.binary_value", .bytes([0x00, 0x01, 0x02, 0x80, 0xff])),
                .init("request.credit", .scalar("4294967295")),
            ]
        )

        let catalog = Catalog(version: "v-test", items: [InteropSamples.catalogItem])
        try expectProtocFields(
            try InteropTools.protocDecode("coop.v1.Catalog", catalog.wireBytes()),
            [
                .init("version", .text("v-test")),
                .init("items", .message),
                .init("items.id", .text("CY-01")),
                .init("items.title_zh", .text("共建西部科学城协同创新平台")),
                .init("items.cq_lead_departments", .text("区科技局")),
                .init("items.cq_lead_departments", .text("区发展改革委")),
                .init("items.participants", .text("cq-shapingba")),
                .init("items.participants", .text("cd-wuhou")),
                .init("items.due_date", .text("2027-12-31")),
                .init("items.requires_sign_off", .scalar("true")),
            ]
        )
    }

    // MARK: protoc --encode → Swift

    @Test("protoc --encode → Swift: EntryBody with every payload kind decodes to the expected values")
    func protocEncodedEntryBodies() throws {
        try InteropTools.requireProtoc()

        let statusText = """
            origin: "cq-shapingba"
            sequence: 18446744073709551615
            previous: "\\000\\001\\177\\200\\377\\"\\\\\\n"
            timestamp { wall_ms: 1767225600123 logical: 2 }
            parents: "\\001\\002\\003"
            parents: "\\004\\005"
            parents: "\\377"
            status_update {
              item_id: "CY-07"
              status: ITEM_STATUS_IN_PROGRESS
              progress: 60
              note: "\(InteropSamples.chineseNote)"
              reporter: "staff.shapingba.wang"
            }
            """
        let statusBytes = try InteropTools.protocEncode("coop.v1.EntryBody", statusText)
        let status = try EntryBody(wireBytes: statusBytes)
        #expect(status.origin == "cq-shapingba")
        #expect(status.sequence == UInt64.max)
        #expect(status.previous == InteropSamples.awkwardBytes)
        #expect(status.timestamp == HybridTimestamp(wallMs: 1_767_225_600_123, logical: 2))
        #expect(status.parents == [[1, 2, 3], [4, 5], [0xff]])
        let update = try #require(status.payload?.interopStatusUpdate, "payload: \(String(describing: status.payload))")
        #expect(update.itemId == "CY-07")
        #expect(update.status == .inProgress)
        #expect(update.progress == 60)
        #expect(update.note == InteropSamples.chineseNote)
        #expect(update.reporter == "staff.shapingba.wang")
        #expect(update.assignee == "")
        #expect(status.wireBytes() == statusBytes, "CoopWire re-encodes protoc's bytes identically")

        let commentText = """
            origin: "cd-wuhou" sequence: 9007199254740993
            parents: "a" parents: "b"
            comment { item_id: "CY-12" text: "\(InteropSamples.emojiText)" author: "staff.wuhou.li" }
            """
        let commentBytes = try InteropTools.protocEncode("coop.v1.EntryBody", commentText)
        let comment = try EntryBody(wireBytes: commentBytes)
        #expect(comment.origin == "cd-wuhou")
        #expect(comment.sequence == 9_007_199_254_740_993)
        #expect(comment.timestamp == nil)
        #expect(comment.parents == [Array("a".utf8), Array("b".utf8)])
        #expect(
            comment.payload
                == .comment(CoopWire.Comment(itemId: "CY-12", text: InteropSamples.emojiText, author: "staff.wuhou.li"))
        )
        #expect(comment.wireBytes() == commentBytes)

        let signOffText = """
            sequence: 1
            sign_off { item_id: "CY-40" entry_id: "\\351\\000\\001" signer: "张伟" note: "a\\tb\\n\\"c\\"" }
            """
        let signOffBytes = try InteropTools.protocEncode("coop.v1.EntryBody", signOffText)
        let signOff = try EntryBody(wireBytes: signOffBytes)
        #expect(signOff.origin == "")
        #expect(signOff.sequence == 1)
        #expect(
            signOff.payload
                == .signOff(SignOff(itemId: "CY-40", entryId: [0xe9, 0x00, 0x01], signer: "张伟", note: "a\tb\n\"c\""))
        )
        #expect(signOff.wireBytes() == signOffBytes)

        // An empty oneof message in text format: present, with no fields.
        let emptyBytes = try InteropTools.protocEncode("coop.v1.EntryBody", "comment {}")
        #expect(emptyBytes == [0x5a, 0x00])
        let empty = try EntryBody(wireBytes: emptyBytes)
        #expect(empty.payload == .comment(CoopWire.Comment()))
        #expect(empty.wireBytes() == emptyBytes)
    }

    @Test("protoc --encode → Swift: rpc, sync, catalog and health messages decode to the expected values")
    func protocEncodedOtherMessages() throws {
        try InteropTools.requireProtoc()

        let headerBytes = try InteropTools.protocEncode(
            "coop.v1.ResponseHeader",
            """
            call_id: 18446744073709551615
            metadata { key: "coop-node" value: "cq-shapingba" }
            metadata { key: "coop-heads-bin" binary_value: "\\000\\377" }
            end_of_stream: true
            status { code: STATUS_CODE_FAILED_PRECONDITION message: "头已过期" reason: "STALE_HEADS" }
            """
        )
        let header = try ResponseHeader(wireBytes: headerBytes)
        #expect(header.callId == UInt64.max)
        #expect(
            header.metadata == [
                MetadataEntry(key: "coop-node", value: "cq-shapingba"),
                MetadataEntry(key: "coop-heads-bin", binaryValue: [0x00, 0xff]),
            ]
        )
        #expect(header.endOfStream)
        #expect(header.status == Status(code: .failedPrecondition, message: "头已过期", reason: "STALE_HEADS"))
        #expect(header.wireBytes() == headerBytes)

        let frames: [(String, ClientFrame.Kind)] = [
            (
                #"request { call_id: 1 method: "/coop.v1.Sync/Pull" timeout_us: 5000000 credit: 4294967295 }"#,
                .request(RequestHeader(callId: 1, method: "/coop.v1.Sync/Pull", timeoutUs: 5_000_000, credit: .max))
            ),
            (
                "credit { call_id: 9007199254740993 credit: 16 }",
                .credit(StreamCredit(callId: 9_007_199_254_740_993, credit: 16))
            ),
            ("cancel { call_id: 18446744073709551615 }", .cancel(CancelCall(callId: .max))),
        ]
        for (text, kind) in frames {
            let bytes = try InteropTools.protocEncode("coop.v1.ClientFrame", text)
            let frame = try ClientFrame(wireBytes: bytes)
            #expect(frame.kind == kind, "from text: \(text)")
            #expect(frame.wireBytes() == bytes, "from text: \(text)")
        }

        let helloBytes = try InteropTools.protocEncode(
            "coop.v1.Hello",
            """
            protocol_version: 1 node_id: "cd-wuhou" side: SIDE_CHENGDU
            catalog_hash: "\\001\\002" roster_hash: "\\003"
            version_vector {
              origins { origin: "cd-wuhou" sequence: 42 }
              origins { origin: "cq-shapingba" sequence: 18446744073709551615 }
            }
            heartbeat_interval_ms: 1000 heartbeat_liveness: 3
            clock { wall_ms: 1767225600999 logical: 7 }
            evidence_count: 4294967295
            """
        )
        let hello = try Hello(wireBytes: helloBytes)
        #expect(hello.protocolVersion == 1)
        #expect(hello.nodeId == "cd-wuhou")
        #expect(hello.side == .chengdu)
        #expect(hello.catalogHash == [1, 2])
        #expect(hello.rosterHash == [3])
        #expect(
            hello.versionVector?.origins == [
                OriginSequence(origin: "cd-wuhou", sequence: 42),
                OriginSequence(origin: "cq-shapingba", sequence: .max),
            ]
        )
        #expect(hello.heartbeatIntervalMs == 1000)
        #expect(hello.heartbeatLiveness == 3)
        #expect(hello.clock == HybridTimestamp(wallMs: 1_767_225_600_999, logical: 7))
        #expect(hello.evidenceCount == .max)
        #expect(hello.wireBytes() == helloBytes)

        let memberBytes = try InteropTools.protocEncode(
            "coop.v1.RosterMember",
            """
            id: "cq-shapingba" side: SIDE_CHONGQING role: ROLE_PEER display_name: "重庆市沙坪坝区 Shapingba District"
            signing_public_key: "\\000\\001\\002\\003" curve_public_key: "\\377\\376" key_epoch: 4294967295
            """
        )
        let member = try RosterMember(wireBytes: memberBytes)
        #expect(
            member
                == RosterMember(
                    id: "cq-shapingba",
                    side: .chongqing,
                    role: .peer,
                    displayName: "重庆市沙坪坝区 Shapingba District",
                    signingPublicKey: [0, 1, 2, 3],
                    curvePublicKey: [0xff, 0xfe],
                    keyEpoch: .max
                )
        )
        #expect(member.wireBytes() == memberBytes)

        let catalogBytes = try InteropTools.protocEncode(
            "coop.v1.Catalog",
            """
            version: "v-test"
            items {
              id: "CY-01" title_zh: "共建西部科学城协同创新平台"
              cq_lead_departments: "区科技局" cq_lead_departments: "区发展改革委"
              participants: "cq-shapingba" participants: "cd-wuhou"
              due_date: "2027-12-31" requires_sign_off: true
            }
            items { id: "CY-02" }
            """
        )
        let catalog = try Catalog(wireBytes: catalogBytes)
        #expect(catalog.version == "v-test")
        #expect(catalog.items == [InteropSamples.catalogItem, CatalogItem(id: "CY-02")])
        #expect(catalog.wireBytes() == catalogBytes)

        let healthBytes = try InteropTools.protocEncode(
            "coop.v1.HealthCheckResponse",
            #"status: SERVING_STATUS_DEGRADED reasons: "时钟偏差" reasons: "evidence""#
        )
        let health = try HealthCheckResponse(wireBytes: healthBytes)
        #expect(health.status == .degraded)
        #expect(health.reasons == ["时钟偏差", "evidence"])
        #expect(health.wireBytes() == healthBytes)

        let listBytes = try InteropTools.protocEncode(
            "coop.v1.ListItemsRequest",
            "statuses: ITEM_STATUS_DELAYED statuses: ITEM_STATUS_IN_PROGRESS participant: \"cd-wuhou\" conflicts_only: true"
        )
        let list = try ListItemsRequest(wireBytes: listBytes)
        #expect(list.statuses == [.delayed, .inProgress])
        #expect(list.participant == "cd-wuhou")
        #expect(list.conflictsOnly)
        #expect(list.wireBytes() == listBytes, "packed repeated enum encodes as the C++ runtime does")
    }

    // MARK: Python → Swift

    @Test("Python → Swift: every Python sample decodes (typed and ProtoJSON) to Python's JSON and bytes")
    func pythonToSwift() throws {
        try InteropTools.requirePython()
        let dir = try InteropScratchDirectory()
        defer { dir.remove() }

        let result = try InteropTools.run(["python3", InteropRepo.script.path, "write-samples", dir.url.path])
        try #require(result.status == 0, "wire_interop.py write-samples failed (\(result.status)):\n\(result.stderr)")

        let names = try FileManager.default.contentsOfDirectory(atPath: dir.url.path)
            .filter { $0.hasSuffix(".bin") }
            .map { String($0.dropLast(4)) }
            .sorted()
        #expect(names.count >= 20, "samples: \(names)")
        for required in [
            "signed_entry_status_update", "entry_body_status_update", "entry_body_comment", "entry_body_sign_off",
            "catalog", "roster_member", "hello", "response_header_failed_precondition", "client_frame_request",
            "client_frame_credit", "client_frame_cancel", "health_check_response", "list_services_response",
        ] {
            #expect(names.contains(required), "Python sample \(required) missing")
        }

        for name in names {
            let base = dir.url.appendingPathComponent(name)
            let bytes = try [UInt8](Data(contentsOf: base.appendingPathExtension("bin")))
            let typeName = try String(contentsOf: base.appendingPathExtension("type"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let pythonJSON = try JSONParser.parse([UInt8](Data(contentsOf: base.appendingPathExtension("json"))))

            let type = try #require(InteropTypes.byName[typeName], "\(name): no Swift type for \(typeName)")
            let message: any WireMessage
            do {
                message = try type.init(wireBytes: bytes)
            } catch {
                Issue.record(
                    "\(name): CoopWire cannot decode Python's \(typeName) bytes: \(error); hex \(interopHex(bytes))"
                )
                continue
            }
            #expect(message.wireBytes() == bytes, "\(name): typed re-encoding differs from Python's bytes")

            let viaRegistry = try ProtoJSON.json(messageName: typeName, bytes: bytes)
            let diffs = InteropJSONCompare.differences(python: pythonJSON, swift: viaRegistry)
            #expect(
                diffs.isEmpty,
                "\(name) (\(typeName)) ProtoJSON.json vs json_format:\n\(diffs.joined(separator: "\n"))"
            )
            let viaTyped = try ProtoJSON.json(message)
            #expect(InteropJSONCompare.differences(python: pythonJSON, swift: viaTyped).isEmpty, "\(name): typed JSON")

            // Python's JSON read by CoopWire encodes to Python's bytes.
            let fromJSON = try ProtoJSON.bytes(messageName: typeName, json: pythonJSON)
            #expect(fromJSON == bytes, "\(name): ProtoJSON.bytes(Python's JSON) differs from Python's bytes")
        }

        // Spot checks of decoded values (the JSON comparison above covers every field).
        let signed = try SignedEntry(
            wireBytes: [UInt8](Data(contentsOf: dir.url.appendingPathComponent("signed_entry_status_update.bin")))
        )
        #expect(signed.signature.count == 64)
        let body = try EntryBody(wireBytes: signed.body)
        #expect(body.origin == "cq-shapingba")
        #expect(body.sequence == 18)
        #expect(body.parents.count == 3)
        guard case .statusUpdate(let update) = body.payload else {
            Issue.record("payload is \(String(describing: body.payload))")
            return
        }
        #expect(update.note == "沙坪坝区与武侯区联合推进“一网通办”，已完成接口联调（60%）。")
        #expect(update.status == .inProgress)

        let hello = try Hello(wireBytes: [UInt8](Data(contentsOf: dir.url.appendingPathComponent("hello.bin"))))
        #expect(hello.versionVector?.origins.map(\.sequence) == [9_007_199_254_740_993, 42, .max, 0])
        #expect(hello.evidenceCount == .max)

        let header = try ResponseHeader(
            wireBytes: [UInt8](
                Data(contentsOf: dir.url.appendingPathComponent("response_header_failed_precondition.bin"))
            )
        )
        #expect(header.status?.code == .failedPrecondition)
        #expect(header.metadata.map(\.key) == ["coop-node", "coop-heads-bin", "coop-note"])
    }

    @Test("Python → Swift: non-canonical encodings (order, repeats, unknown fields, packing) read as Python reads them")
    func pythonEdgeCasesToSwift() throws {
        try InteropTools.requirePython()
        let dir = try InteropScratchDirectory()
        defer { dir.remove() }

        let result = try InteropTools.run(["python3", InteropRepo.script.path, "write-edge-cases", dir.url.path])
        try #require(
            result.status == 0,
            "wire_interop.py write-edge-cases failed (\(result.status)):\n\(result.stderr)"
        )

        // Encodings that protobuf-c would read differently from Python (a NUL inside a string, which protobuf-c's C
        // strings cut; a singular message field given twice, which protobuf-c does not merge). CoopWire refuses
        // them with .malformed instead of misreading them: a signed body must mean the same to every reader.
        let refused: [String: String] = [
            "string_with_nul": "string contains a NUL character",
            "merge_singular_message": "a singular message field given twice",
            "merge_oneof_same_case": "a singular message field given twice",
        ]

        let names = try FileManager.default.contentsOfDirectory(atPath: dir.url.path)
            .filter { $0.hasSuffix(".bin") }
            .map { String($0.dropLast(4)) }
            .sorted()
        #expect(names.count >= 9, "edge cases: \(names)")
        for name in names {
            let base = dir.url.appendingPathComponent(name)
            let bytes = try [UInt8](Data(contentsOf: base.appendingPathExtension("bin")))
            let canonical = try [UInt8](Data(contentsOf: base.appendingPathExtension("canonical")))
            let typeName = try String(contentsOf: base.appendingPathExtension("type"), encoding: .utf8)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            let pythonJSON = try JSONParser.parse([UInt8](Data(contentsOf: base.appendingPathExtension("json"))))
            let type = try #require(InteropTypes.byName[typeName], "\(name): no Swift type for \(typeName)")

            if name == "unknown_enum_value" {
                // DIFFERENCE (reported, not marked as a bug: CoopWire's typed API is strict by design). proto3 enums
                // are open; Python keeps ItemState.status = 99 and writes it as the number 99. ProtoJSON.json agrees
                // with Python; the typed decode refuses the value, and ProtoJSON.bytes refuses {"status": 99},
                // which Python's json_format.Parse accepts.
                let json = try ProtoJSON.json(messageName: typeName, bytes: bytes)
                let diffs = InteropJSONCompare.differences(python: pythonJSON, swift: json)
                #expect(diffs.isEmpty, "\(name): \(diffs.joined(separator: "\n"))")
                #expect {
                    _ = try type.init(wireBytes: bytes)
                } throws: { error in
                    (error as? WireError)?.code == .unknownEnumValue
                }
                // Like Python's json_format.Parse, ProtoJSON.bytes keeps the number of an open enum.
                #expect(try ProtoJSON.bytes(messageName: typeName, json: pythonJSON) == canonical)
                continue
            }

            if let reason = refused[name] {
                for attempt in [
                    { _ = try type.init(wireBytes: bytes) },
                    { _ = try ProtoJSON.json(messageName: typeName, bytes: bytes) },
                ] {
                    #expect {
                        try attempt()
                    } throws: { error in
                        let e = error as? WireError
                        return e?.code == .malformed && e?.message.contains(reason) == true
                    }
                }
                continue
            }

            let check = {
                let viaRegistry = try ProtoJSON.json(messageName: typeName, bytes: bytes)
                let diffs = InteropJSONCompare.differences(python: pythonJSON, swift: viaRegistry)
                #expect(diffs.isEmpty, "\(name) (\(typeName)) read differently:\n\(diffs.joined(separator: "\n"))")
                let message = try type.init(wireBytes: bytes)
                #expect(
                    message.wireBytes() == canonical,
                    "\(name): CoopWire re-encodes \(interopHex(message.wireBytes())), Python \(interopHex(canonical))"
                )
            }
            try check()
        }
        for name in refused.keys {
            #expect(names.contains(name), "edge case \(name) missing")
        }

        // Encoding cannot carry U+0000 (protobuf-c packs C strings): text from people is checked with WireText
        // before it is encoded, and ProtoJSON.bytes refuses it.
        #expect(WireText.problem("a\u{0}b") != nil)
        #expect(throws: WireError.self) {
            try ProtoJSON.bytes(
                messageName: "coop.v1.Comment",
                json: .object([JSONMember(key: "text", value: .string("a\u{0}b"))])
            )
        }
    }

    @Test("The Swift type table names real schema types under their own full names")
    func typeTableIsConsistent() {
        let known = Set(MessageRegistry.messageNames)
        for (name, type) in InteropTypes.byName {
            #expect(known.contains(name), "\(name) is not a message type of proto/coop/v1")
            #expect(type.protoName == name)
        }
        #expect(InteropTypes.byName.count >= 47)
    }
}

// MARK: - Samples built in Swift

private struct InteropSample {
    var name: String
    var typeName: String
    var bytes: [UInt8]
    var json: JSONValue

    init<M: WireMessage>(_ name: String, _ message: M) throws {
        self.name = name
        self.typeName = M.protoName
        self.bytes = message.wireBytes()
        self.json = try ProtoJSON.json(message)
    }

    func write(to dir: URL) throws {
        let base = dir.appendingPathComponent(name)
        try Data(bytes).write(to: base.appendingPathExtension("bin"))
        try Data((typeName + "\n").utf8).write(to: base.appendingPathExtension("type"))
        try Data((JSONWriter.write(json) + "\n").utf8).write(to: base.appendingPathExtension("json"))
    }
}

private enum InteropSamples {
    static let chineseNote = "沙坪坝区与武侯区联合推进“一网通办”，已完成接口联调（60%）。"
    static let emojiText = "进展顺利 👍 — 双城经济圈 ✓"
    static let escapesText = "line 1\nline 2\t\"quoted\" \\ back\\slash \u{01} end"
    /// Bytes that need escaping in every text form: NUL, DEL, high bytes, quote, backslash, newline.
    static let awkwardBytes: [UInt8] = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x22, 0x5c, 0x0a]

    /// A deterministic 32-byte stand-in for an entry id.
    static func id(_ seed: Int) -> [UInt8] {
        (0..<32).map { UInt8(truncatingIfNeeded: seed &* 37 &+ $0 &* 11 &+ 5) }
    }

    /// A deterministic 64-byte stand-in for an Ed25519 signature.
    static func signature(_ seed: Int) -> [UInt8] { id(seed) + id(seed + 1000).reversed() }

    static let statusBody = EntryBody(
        origin: "cq-shapingba",
        sequence: .max,
        previous: awkwardBytes,
        timestamp: HybridTimestamp(wallMs: 1_767_225_600_123, logical: 2),
        parents: [id(1), id(2), id(3)],
        payload: .statusUpdate(
            StatusUpdate(
                itemId: "CY-07",
                status: .inProgress,
                progress: 60,
                note: chineseNote,
                reporter: "staff.shapingba.wang",
                assignee: "重庆市沙坪坝区大数据发展局"
            )
        )
    )

    static var signedEntry: SignedEntry { SignedEntry(body: statusBody.wireBytes(), signature: signature(18)) }

    static let responseHeader = ResponseHeader(
        callId: .max,
        metadata: [
            MetadataEntry(key: "coop-node", value: "cq-shapingba"),
            MetadataEntry(key: "coop-heads-bin", binaryValue: id(1) + id(2)),
        ],
        endOfStream: true,
        status: Status(
            code: .failedPrecondition,
            message: "expected_heads 已过期：条目 CY-07 有 2 个当前头",
            reason: "STALE_HEADS"
        )
    )

    static let hello = Hello(
        protocolVersion: 1,
        nodeId: "cq-shapingba",
        side: .chongqing,
        catalogHash: id(10),
        rosterHash: id(11),
        versionVector: VersionVector(origins: [
            OriginSequence(origin: "cd-qingbaijiang", sequence: 9_007_199_254_740_993),
            OriginSequence(origin: "cd-wuhou", sequence: 42),
            OriginSequence(origin: "cq-shapingba", sequence: .max),
        ]),
        heartbeatIntervalMs: 1000,
        heartbeatLiveness: 3,
        clock: HybridTimestamp(wallMs: 1_767_225_600_999, logical: 7),
        evidenceCount: .max
    )

    static let itemState = ItemState(
        itemId: "CY-07",
        status: .completed,
        progress: 100,
        note: chineseNote,
        updatedBy: "cq-shapingba",
        updatedAt: HybridTimestamp(wallMs: .max, logical: .max),
        head: id(1),
        heads: [id(1), id(2)],
        signedOff: [.chengdu, .chongqing],
        awaitingSignOff: true,
        comments: 3
    )

    static let clientFrameRequest = ClientFrame(
        kind: .request(
            RequestHeader(
                callId: 9_007_199_254_740_993,
                method: "/coop.v1.Ledger/UpdateStatus",
                timeoutUs: .max,
                metadata: [MetadataEntry(key: "trace-bin", binaryValue: [0x00, 0x01, 0x02, 0x80, 0xff])],
                credit: .max
            )
        )
    )

    static let catalogItem = CatalogItem(
        id: "CY-01",
        titleZh: "共建西部科学城协同创新平台",
        cqLeadDepartments: ["区科技局", "区发展改革委"],
        participants: ["cq-shapingba", "cd-wuhou"],
        dueDate: "2027-12-31",
        requiresSignOff: true
    )

    static func all() throws -> [InteropSample] {
        let commentBody = EntryBody(
            origin: "cd-wuhou",
            sequence: 9_007_199_254_740_993,
            previous: id(4),
            timestamp: HybridTimestamp(wallMs: .max, logical: .max),
            parents: [id(5), id(6)],
            payload: .comment(CoopWire.Comment(itemId: "CY-12", text: emojiText, author: "staff.wuhou.li"))
        )
        let signOffBody = EntryBody(
            origin: "cd-qingbaijiang",
            sequence: 7,
            parents: [id(7), id(8), id(9), id(10)],
            payload: .signOff(SignOff(itemId: "CY-40", entryId: id(11), signer: "张伟", note: escapesText))
        )
        let equivocation = Equivocation(
            first: SignedEntry(body: [0x0a, 0x01, 0x61], signature: signature(1)),
            second: SignedEntry(body: [0x0a, 0x01, 0x62, 0x00, 0xff], signature: signature(2))
        )
        let member = RosterMember(
            id: "cq-shapingba",
            side: .chongqing,
            role: .peer,
            displayName: "重庆市沙坪坝区 Shapingba District",
            signingPublicKey: id(20),
            curvePublicKey: id(21),
            keyEpoch: .max
        )
        let catalog = Catalog(
            version: "spb-2023-2027-derived-1",
            source: "沙坪坝区推动成渝地区双城经济圈建设行动方案（2023—2027年）",
            note: "派生清单，待正式台账替换。",
            items: [
                CatalogItem(
                    id: "CY-01",
                    titleZh: "共建西部科学城重庆片区与成都片区协同创新平台",
                    titleEn: "Joint innovation platform of the western science city",
                    seedSection: "二(一)3",
                    cqLeadDepartments: ["区科技局", "区发展改革委"],
                    cqResponsibleDepartments: ["西部科学城重庆高新区管委会", "区经济信息委", "区教委"],
                    cdCounterpart: "成都市武侯区 科技局",
                    participants: ["cq-shapingba", "cd-wuhou"],
                    targetZh: "建成联合实验室 2 个",
                    targetEn: "Two joint laboratories in operation",
                    dueDate: "2027-12-31",
                    requiresSignOff: true
                ),
                CatalogItem(
                    id: "CY-02",
                    titleZh: "川渝通办事项互认",
                    cqLeadDepartments: ["区政务服务管理办"],
                    participants: ["cq-shapingba", "cd-qingbaijiang", "cd-wuhou"],
                    dueDate: "2026-06-30"
                ),
            ]
        )
        let services = ListServicesResponse(services: [
            ServiceInfo(
                name: "coop.v1.Ledger",
                methods: [
                    MethodInfo(
                        name: "UpdateStatus",
                        fullName: "/coop.v1.Ledger/UpdateStatus",
                        inputType: "coop.v1.UpdateStatusRequest",
                        outputType: "coop.v1.AppendResponse"
                    )
                ]
            ),
            ServiceInfo(
                name: "coop.v1.Sync",
                methods: [
                    MethodInfo(
                        name: "Pull",
                        fullName: "/coop.v1.Sync/Pull",
                        inputType: "coop.v1.PullRequest",
                        outputType: "coop.v1.PullResponse",
                        serverStreaming: true
                    )
                ]
            ),
        ])
        return [
            try InteropSample("entry_body_status_update", statusBody),
            try InteropSample("signed_entry_status_update", signedEntry),
            try InteropSample("entry_body_comment", commentBody),
            try InteropSample("entry_body_sign_off", signOffBody),
            try InteropSample(
                "entry_body_empty_comment",
                EntryBody(origin: "cq-shapingba", sequence: 1, payload: .comment(CoopWire.Comment()))
            ),
            try InteropSample("hybrid_timestamp_max", HybridTimestamp(wallMs: .max, logical: .max)),
            try InteropSample("equivocation", equivocation),
            try InteropSample("catalog", catalog),
            try InteropSample("roster_member", member),
            try InteropSample(
                "roster",
                Roster(
                    version: "2026-11-demo",
                    members: [
                        member,
                        RosterMember(
                            id: "staff.wuhou.li",
                            side: .chengdu,
                            role: .staff,
                            displayName: "李 (武侯区)",
                            homeNode: "cd-wuhou",
                            keyEpoch: 1
                        ),
                        RosterMember(id: "audit.cq", side: .chongqing, role: .auditor),
                    ]
                )
            ),
            try InteropSample("hello", hello),
            try InteropSample(
                "pull_request",
                PullRequest(have: hello.versionVector, limit: 100, includeEvidence: true)
            ),
            try InteropSample("pull_response_entry", PullResponse(item: .entry(signedEntry))),
            try InteropSample("pull_response_evidence", PullResponse(item: .evidence(equivocation))),
            try InteropSample(
                "digest_response",
                DigestResponse(origins: [
                    OriginDigest(origin: "cd-wuhou", sequence: 9_007_199_254_740_993, head: id(30), evidence: 2),
                    OriginDigest(origin: "cq-shapingba", sequence: .max, head: [0xff, 0xfe, 0xfd]),
                ])
            ),
            try InteropSample(
                "head_notice",
                HeadNotice(fromNode: "cd-wuhou", origin: "cq-shapingba", sequence: .max, entryId: id(31))
            ),
            try InteropSample("response_header_failed_precondition", responseHeader),
            try InteropSample("client_frame_request", clientFrameRequest),
            try InteropSample("client_frame_credit", ClientFrame(kind: .credit(StreamCredit(callId: 7, credit: 16)))),
            try InteropSample("client_frame_cancel", ClientFrame(kind: .cancel(CancelCall(callId: .max)))),
            try InteropSample("client_frame_cancel_zero", ClientFrame(kind: .cancel(CancelCall()))),
            try InteropSample(
                "health_check_response",
                HealthCheckResponse(status: .degraded, reasons: ["evidence against cd-wuhou", "时钟偏差 2.5 s"])
            ),
            try InteropSample("health_check_request_empty", HealthCheckRequest()),
            try InteropSample("list_services_response", services),
            try InteropSample("item_state", itemState),
            try InteropSample(
                "list_items_request",
                ListItemsRequest(
                    statuses: [.delayed, .inProgress, .suspended],
                    participant: "cd-wuhou",
                    conflictsOnly: true
                )
            ),
            try InteropSample(
                "item_history_response",
                ItemHistoryResponse(records: [
                    HistoryRecord(
                        entryId: id(40),
                        entry: signedEntry,
                        body: statusBody,
                        disposition: .applied,
                        logPosition: 9_007_199_254_740_993
                    ),
                    HistoryRecord(
                        entryId: id(41),
                        disposition: .rejectedByPolicy,
                        reason: "origin cd-qingbaijiang does not take part in CY-07"
                    ),
                ])
            ),
            try InteropSample(
                "list_items_response",
                ListItemsResponse(items: [
                    ItemView(item: catalog.items[0], state: itemState), ItemView(item: catalog.items[1]),
                ])
            ),
            try InteropSample(
                "update_status_request",
                UpdateStatusRequest(
                    itemId: "CY-07",
                    status: .delayed,
                    progress: 35,
                    note: escapesText,
                    reporter: "staff.shapingba.wang",
                    assignee: "区大数据发展局",
                    expectedHeads: [id(1), id(2)]
                )
            ),
            try InteropSample(
                "append_response",
                AppendResponse(entryId: id(50), origin: "cq-shapingba", sequence: 18, state: itemState)
            ),
            try InteropSample(
                "file_descriptor_set_response",
                FileDescriptorSetResponse(fileDescriptorSet: MessageRegistry.fileDescriptorSet)
            ),
        ]
    }
}

extension EntryBody.Payload {
    fileprivate var interopStatusUpdate: StatusUpdate? {
        if case .statusUpdate(let u) = self { return u }
        return nil
    }
}

/// Message types of the schema by full name, so Python → Swift decodes with the generated type. A Python sample of a
/// type missing here fails with "no Swift type".
private enum InteropTypes {
    static let all: [any WireMessage.Type] = [
        // catalog.proto
        CatalogItem.self, Catalog.self, RosterMember.self, Roster.self,
        // health.proto
        HealthCheckRequest.self, HealthCheckResponse.self,
        // ledger.proto
        ItemState.self, HistoryRecord.self, ListItemsRequest.self, ListItemsResponse.self, ItemView.self,
        GetItemRequest.self, UpdateStatusRequest.self, AddCommentRequest.self, SignOffRequest.self,
        AppendResponse.self, ItemHistoryRequest.self, ItemHistoryResponse.self,
        // log.proto
        HybridTimestamp.self, StatusUpdate.self, Comment.self, SignOff.self, EntryBody.self, SignedEntry.self,
        Equivocation.self,
        // reflection.proto
        ListServicesRequest.self, MethodInfo.self, ServiceInfo.self, ListServicesResponse.self,
        FileDescriptorSetRequest.self, FileDescriptorSetResponse.self,
        // rpc.proto
        Status.self, MetadataEntry.self, RequestHeader.self, StreamCredit.self, CancelCall.self, ClientFrame.self,
        ResponseHeader.self,
        // sync.proto
        OriginSequence.self, VersionVector.self, Hello.self, PullRequest.self, PullResponse.self,
        DigestRequest.self, OriginDigest.self, DigestResponse.self, HeadNotice.self,
    ]

    static let byName: [String: any WireMessage.Type] = Dictionary(
        uniqueKeysWithValues: all.map { ($0.protoName, $0) }
    )
}

// MARK: - JSON comparison

/// Compares two JSON documents as values: object members by key (order and source lines ignored), arrays by
/// position, numbers by their text, strings exactly.
private enum InteropJSONCompare {
    static func differences(python: JSONValue, swift: JSONValue, path: String = "$") -> [String] {
        switch (python, swift) {
        case (.object(let p), .object(let s)):
            var out: [String] = []
            let pKeys = p.map(\.key)
            let sKeys = s.map(\.key)
            if Set(pKeys).count != pKeys.count { out.append("\(path): duplicate keys in Python's JSON: \(pKeys)") }
            if Set(sKeys).count != sKeys.count { out.append("\(path): duplicate keys in Swift's JSON: \(sKeys)") }
            for key in Set(pKeys).union(sKeys).sorted() {
                let pv = python[key]
                let sv = swift[key]
                switch (pv, sv) {
                case (let pv?, let sv?): out += differences(python: pv, swift: sv, path: "\(path).\(key)")
                case (let pv?, nil): out.append("\(path).\(key): Python has \(render(pv)), Swift omits it")
                case (nil, let sv?): out.append("\(path).\(key): Swift has \(render(sv)), Python omits it")
                case (nil, nil): break
                }
            }
            return out
        case (.array(let p), .array(let s)):
            guard p.count == s.count else {
                return [
                    "\(path): Python has \(p.count) elements, Swift \(s.count): \(render(python)) vs \(render(swift))"
                ]
            }
            return zip(p, s).enumerated().flatMap { i, pair in
                differences(python: pair.0, swift: pair.1, path: "\(path)[\(i)]")
            }
        default:
            return python == swift ? [] : ["\(path): Python has \(render(python)), Swift has \(render(swift))"]
        }
    }

    static func render(_ value: JSONValue) -> String { JSONWriter.write(value, pretty: false) }
}

// MARK: - protoc text format

/// One line of `protoc --decode` output: a field path (nested names joined with ".") and its value.
private struct ProtocTextField: Equatable, CustomStringConvertible {
    enum Value: Equatable {
        /// `name {` — a (possibly empty) submessage starts.
        case message
        /// An unquoted value: number, enum value name, true/false.
        case scalar(String)
        /// A quoted value, unescaped to its bytes.
        case bytes([UInt8])

        static func text(_ s: String) -> Value { .bytes(Array(s.utf8)) }
    }

    var path: String
    var value: Value

    init(_ path: String, _ value: Value) {
        self.path = path
        self.value = value
    }

    var description: String {
        switch value {
        case .message: "\(path) {"
        case .scalar(let s): "\(path): \(s)"
        case .bytes(let b):
            if let s = String(validating: b, as: UTF8.self) {
                "\(path): \"\(s)\""
            } else {
                "\(path): 0x\(interopHex(b))"
            }
        }
    }
}

private enum ProtocTextFormat {
    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses protoc's text-format output (one field per line, two-space indentation).
    static func parse(_ text: String) throws -> [ProtocTextField] {
        var stack: [String] = []
        var out: [ProtocTextField] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line == "}" {
                guard stack.popLast() != nil else { throw ParseError(description: "unbalanced '}' in:\n\(text)") }
                continue
            }
            if line.hasSuffix(" {") {
                let name = String(line.dropLast(2))
                stack.append(name)
                out.append(ProtocTextField(stack.joined(separator: "."), .message))
                continue
            }
            guard let colon = line.firstIndex(of: ":") else {
                throw ParseError(description: "unexpected line \(line.debugDescription)")
            }
            let name = String(line[..<colon])
            let rest = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            let path = (stack + [name]).joined(separator: ".")
            if rest.hasPrefix("\"") {
                guard rest.count >= 2, rest.hasSuffix("\"") else {
                    throw ParseError(description: "unterminated string in \(line.debugDescription)")
                }
                out.append(ProtocTextField(path, .bytes(try unescape(Array(rest.utf8.dropFirst().dropLast())))))
            } else {
                out.append(ProtocTextField(path, .scalar(rest)))
            }
        }
        guard stack.isEmpty else { throw ParseError(description: "unclosed message \(stack) in:\n\(text)") }
        return out
    }

    /// Undoes protobuf's C escaping (`\n`, `\"`, `\\`, `\ooo` octal, `\xHH`).
    static func unescape(_ s: [UInt8]) throws -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        func isOctal(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x37 }
        while i < s.count {
            let c = s[i]
            guard c == UInt8(ascii: "\\") else {
                out.append(c)
                i += 1
                continue
            }
            guard i + 1 < s.count else { throw ParseError(description: "dangling backslash") }
            let e = s[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "n"): out.append(0x0a)
            case UInt8(ascii: "r"): out.append(0x0d)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "a"): out.append(0x07)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0c)
            case UInt8(ascii: "v"): out.append(0x0b)
            case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "?"): out.append(e)
            case UInt8(ascii: "x"):
                var value = 0
                var digits = 0
                while digits < 2, i < s.count, let d = Int(String(UnicodeScalar(s[i])), radix: 16) {
                    value = value * 16 + d
                    i += 1
                    digits += 1
                }
                guard digits > 0 else { throw ParseError(description: "\\x without hex digits") }
                out.append(UInt8(value))
            case _ where isOctal(e):
                var value = Int(e - 0x30)
                var digits = 1
                while digits < 3, i < s.count, isOctal(s[i]) {
                    value = value * 8 + Int(s[i] - 0x30)
                    i += 1
                    digits += 1
                }
                guard value <= 0xff else { throw ParseError(description: "octal escape above \\377") }
                out.append(UInt8(value))
            default:
                throw ParseError(description: "unknown escape \\\(UnicodeScalar(e))")
            }
        }
        return out
    }

    /// How protoc's text format prints these UTF-8 bytes when all are non-ASCII: `\ooo` per byte.
    static func octalEscaped(_ bytes: [UInt8]) -> String {
        bytes.map { b in
            if b >= 0x20 && b < 0x7f && b != UInt8(ascii: "\"") && b != UInt8(ascii: "\\") && b != UInt8(ascii: "'") {
                return String(UnicodeScalar(b))
            }
            let octal = String(b, radix: 8)
            return "\\" + String(repeating: "0", count: 3 - octal.count) + octal
        }.joined()
    }
}

/// Expects protoc's text output to hold exactly `expected`, in order.
private func expectProtocFields(
    _ text: String,
    _ expected: [ProtocTextField],
    sourceLocation: SourceLocation = #_sourceLocation
) throws {
    let actual = try ProtocTextFormat.parse(text)
    let lines = actual.map(\.description).joined(separator: "\n")
    #expect(
        actual.count == expected.count,
        "protoc printed \(actual.count) fields, expected \(expected.count):\n\(lines)",
        sourceLocation: sourceLocation
    )
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        #expect(
            a == e,
            "field \(i): protoc printed \(a), expected \(e)\nprotoc output:\n\(text)",
            sourceLocation: sourceLocation
        )
    }
}

private func interopHex(_ bytes: [UInt8]) -> String {
    bytes.map { b in
        let h = String(b, radix: 16)
        return h.count == 1 ? "0" + h : h
    }.joined()
}

// MARK: - Processes, tools, paths

private enum InteropRepo {
    /// The package root, found from this file's path (Tests/CoopWireTests/InteropTests.swift).
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
    static let script = root.appendingPathComponent("Tests/interop/wire_interop.py")
    static let protoDir = root.appendingPathComponent("proto")

    /// proto/coop/v1/*.proto, relative to proto/ (protoc's -I).
    static func protoFiles() throws -> [String] {
        let dir = protoDir.appendingPathComponent("coop/v1")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".proto") }
            .sorted()
        return names.map { "coop/v1/" + $0 }
    }
}

private struct InteropProcessResult {
    var status: Int32
    var stdout: [UInt8]
    var stderr: String
    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
}

/// Collects bytes read on another thread.
private final class InteropDataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func set(_ d: Data) {
        lock.lock()
        data = d
        lock.unlock()
    }

    func get() -> Data {
        lock.lock()
        defer { lock.unlock() }
        return data
    }
}

private enum InteropTools {
    static let pythonHelp = """
        python3 with the google.protobuf package is required for the interop tests. \
        Install it with `pip install protobuf` (7.x; Python 3.11).
        """
    static let protocHelp = """
        protoc is required for the interop tests. \
        Install it with `apt-get install protobuf-compiler` (3.21 or later).
        """

    static func requirePython() throws {
        let result: InteropProcessResult
        do {
            result = try run(["python3", "-c", "import google.protobuf"])
        } catch {
            Issue.record("\(pythonHelp)\ncould not run python3: \(error)")
            throw error
        }
        try #require(result.status == 0, "\(pythonHelp)\n\(result.stderr)")
        try requireProtoc()  // wire_interop.py compiles the schema with protoc
    }

    static func requireProtoc() throws {
        let result: InteropProcessResult
        do {
            result = try run(["protoc", "--version"])
        } catch {
            Issue.record("\(protocHelp)\ncould not run protoc: \(error)")
            throw error
        }
        try #require(result.status == 0, "\(protocHelp)\n\(result.stderr)")
    }

    /// `protoc --decode=TYPE -Iproto proto/coop/v1/*.proto` with `bytes` on stdin; its text output.
    static func protocDecode(_ type: String, _ bytes: [UInt8]) throws -> String {
        let result = try run(
            ["protoc", "--decode=\(type)", "-I\(InteropRepo.protoDir.path)"] + InteropRepo.protoFiles(),
            stdin: bytes
        )
        try #require(result.status == 0, "protoc --decode=\(type) failed (\(result.status)): \(result.stderr)")
        try #require(result.stderr.isEmpty, "protoc --decode=\(type) warned: \(result.stderr)")
        return result.stdoutText
    }

    /// `protoc --encode=TYPE -Iproto proto/coop/v1/*.proto` with text format on stdin; the encoded bytes.
    static func protocEncode(_ type: String, _ text: String) throws -> [UInt8] {
        let result = try run(
            ["protoc", "--encode=\(type)", "-I\(InteropRepo.protoDir.path)"] + InteropRepo.protoFiles(),
            stdin: Array(text.utf8)
        )
        try #require(
            result.status == 0,
            "protoc --encode=\(type) failed (\(result.status)): \(result.stderr)\ninput:\n\(text)"
        )
        return result.stdout
    }

    /// Runs a program found on PATH (through /usr/bin/env) in the package root. Stdin comes from a temporary
    /// file; stdout and stderr are read to the end (concurrently, so neither pipe can fill and block the child)
    /// before waiting for the exit.
    static func run(_ arguments: [String], stdin: [UInt8]? = nil) throws -> InteropProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.currentDirectoryURL = InteropRepo.root

        var inputDir: InteropScratchDirectory?
        defer { inputDir?.remove() }
        if let stdin {
            let dir = try InteropScratchDirectory()
            inputDir = dir
            let file = dir.url.appendingPathComponent("stdin")
            try Data(stdin).write(to: file)
            process.standardInput = try FileHandle(forReadingFrom: file)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        try process.run()

        let errBox = InteropDataBox()
        let errHandle = errPipe.fileHandleForReading
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { errBox.set(errHandle.readDataToEndOfFile()) }
        let out = outPipe.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        if let input = process.standardInput as? FileHandle, stdin != nil { try? input.close() }
        return InteropProcessResult(
            status: process.terminationStatus,
            stdout: [UInt8](out),
            stderr: String(decoding: errBox.get(), as: UTF8.self)
        )
    }
}

/// A fresh directory under the temporary directory, created with mkdtemp (unique, mode 0700).
private struct InteropScratchDirectory {
    let url: URL

    init() throws {
        let template = FileManager.default.temporaryDirectory.appendingPathComponent("coop-interop-XXXXXX").path
        var buffer = Array(template.utf8CString)
        let created = buffer.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) != nil }
        guard created else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: template])
        }
        let path = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        url = URL(fileURLWithPath: path, isDirectory: true)
    }

    func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}
