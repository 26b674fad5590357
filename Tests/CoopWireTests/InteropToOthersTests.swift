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

import CoopTestKit
import CoopWire
import Foundation
import Testing

/// Swift → Python and Swift → protoc: independent runtimes read CoopWire's bytes.
@Suite("Interop: Swift to Python and protoc", .serialized)
struct InteropToOthersTests {
    // MARK: Swift → Python

    @Test("Swift → Python: google.protobuf reads CoopWire's bytes and JSON, re-encodes identical bytes")
    func swiftToPython() throws {
        try InteropTools.requirePython()
        let dir = try TemporaryDirectory("coop-interop")
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

}
