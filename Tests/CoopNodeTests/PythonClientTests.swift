// A client in another language, written only from docs/PROTOCOL.md and proto/: Tests/interop/rpc_interop.py
// (pyzmq with CurveZMQ, Google's protobuf runtime) against a real `coop node run` child process of a mesh written by
// `coop dev mesh`.
//
// Requires python3 with pyzmq and google.protobuf (pip install pyzmq protobuf) and protoc (apt-get install
// protobuf-compiler). A missing tool fails the test; it never skips it. See Tests/interop/README.md.

import CoopTestKit
import Foundation
import Synchronization
import Testing

@Suite("Interop: a Python client against coop node run", .timeLimit(.minutes(10)))
struct PythonClientTests {
    @Test("unary call, stream with credit, deadlines, refused key, refused write and bad requests, seen from Python")
    func pythonClient() async throws {
        try await PythonRPCTools.require()
        let coop = try ChildProcess.product("coop")
        let directory = try TemporaryDirectory("coop-py-client")
        defer { directory.remove() }
        let meshDirectory = directory.file("mesh")
        let written = try await RunningProgram.run(
            coop,
            ["dev", "mesh", meshDirectory, "--catalog", Fixtures.catalogPath, "--standalone"],
            within: .seconds(120)
        )
        try #require(written.ending == .exited(0), "coop dev mesh: \(written.ending)\n\(written.stderr)")

        // Port 0: the node binds a free port and prints it; no port picked in advance can be taken meanwhile.
        let config = "\(meshDirectory)/nodes/cd-wuhou.toml"
        let toml = try String(contentsOfFile: config, encoding: .utf8)
        let listen = try #require(toml.split(separator: "\n").first { $0.hasPrefix("listen = ") })
        try toml.replacingOccurrences(of: String(listen), with: "listen = \"tcp://127.0.0.1:0\"")
            .write(toFile: config, atomically: true, encoding: .utf8)

        let node = try RunningProgram(coop, ["node", "run", "--config", config])
        do {
            try await exercise(node, mesh: meshDirectory)
        } catch {
            node.stop()
            throw error
        }
    }

    private func exercise(_ node: RunningProgram, mesh: String) async throws {
        let ready = try await node.stdoutLine(within: .seconds(180)) { $0.contains(" ready: serving ") }
        let endpoint = try #require(
            ready.split(separator: " ").first { $0.hasPrefix("tcp://") }.map(String.init),
            "no endpoint in the readiness line \(ready)"
        )
        #expect(ready.hasPrefix("coop node cd-wuhou ready: serving \(endpoint) (CurveZMQ)"), "\(ready)")

        let run = try await RunningProgram.run(
            "/usr/bin/env",
            ["python3", PythonRPCTools.script, "client", "--mesh", mesh, "--node", "cd-wuhou", "--endpoint", endpoint],
            within: .seconds(420)
        )
        let lines = run.stdout.split(separator: "\n").map(String.init)
        let report = "rpc_interop.py client: \(run.ending)\nstdout:\n\(run.stdout)\nstderr:\n\(run.stderr)"
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        var checks: [String: PythonCheck] = [:]
        for line in lines {
            let check = try #require(
                try? decoder.decode(PythonCheck.self, from: Data(line.utf8)),
                "not a result line: \(line)\n\(report)"
            )
            #expect(checks[check.check] == nil, "\(check.check) reported twice")
            checks[check.check] = check
            #expect(check.ok && check.problems.isEmpty, "\(check.check): \(check.problems)\n\(report)")
        }
        #expect(
            checks.keys.sorted() == [
                "deadline", "expired_unary", "malformed_request", "permission", "stream_batch", "stream_credit",
                "stream_packed", "unary", "unauthenticated", "unknown_method",
            ],
            "\(report)"
        )
        // The script exits 1 when a check fails, 0 when all hold.
        let failed = checks.values.contains { !$0.ok }
        #expect(run.ending == .exited(failed ? 1 : 0), "\(report)")

        // (a) A unary write as the node's staff, then a read showing it; the caller comes from the key.
        let unary = try #require(checks["unary"], "\(report)")
        #expect(unary.code == "OK")
        #expect(unary.origin == "cd-wuhou")
        #expect(unary.sequence == 1)
        #expect(unary.entryIdBytes == 32)
        #expect(unary.status == "ASSIGNED")
        #expect(unary.reporter?.contains("staff.wuhou") == true, "\(unary.reporter ?? "-")")
        #expect(unary.getStatus == "ASSIGNED")
        #expect(unary.getProgress == 5)
        #expect(unary.getHeadIsEntry == true)
        #expect(unary.getNote == "Python 客户端: 分办 to the department")
        #expect(unary.getItemId == unary.item)

        // (b) 40 initial states through a credit of 4: ten windows of exactly 4, the server quiet after each.
        let stream = try #require(checks["stream_credit"], "\(report)")
        #expect(stream.credit == 4)
        #expect(stream.initial == 40)
        #expect(stream.distinctItems == 40)
        #expect(stream.received == 40)
        #expect(stream.granted == 40)
        #expect(stream.grants == 9)
        #expect(stream.betweenGrants == Array(repeating: 4, count: 10))
        #expect(stream.maxBetweenGrants == 4)
        #expect(stream.windowsChecked == 9)
        #expect(stream.quietAfterWindow == 9)
        #expect(stream.updatedItem == unary.item)
        #expect(stream.updatedItemStatus == "ASSIGNED")
        #expect(stream.endCode == "CANCELLED")

        // (b′) The same 40 states asking for batches of at most 8: each once, however the node groups them.
        let batched = try #require(checks["stream_batch"], "\(report)")
        #expect(batched.batch == 8)
        #expect(batched.initial == 40)
        #expect(batched.distinctItems == 40)
        #expect((1...8).contains(batched.maxPerMessage ?? 0), "\(batched)")
        #expect((5...40).contains(batched.serverMessages ?? 0), "\(batched)")
        #expect(batched.packedBatches == 0)
        #expect(batched.endCode == "CANCELLED")

        // (b″) The same asking for packed batches: every batch of two or more came packed (split by the Python
        // client from PROTOCOL.md), none one frame per message.
        let packed = try #require(checks["stream_packed"], "\(report)")
        #expect(packed.initial == 40 && packed.distinctItems == 40, "\(packed)")
        #expect((1...8).contains(packed.maxPerMessage ?? 0), "\(packed)")
        #expect(packed.frameBatches == 0, "\(packed)")
        #expect(packed.endCode == "CANCELLED")

        // (c) A stream with a 200 ms budget: its initial state, then DEADLINE_EXCEEDED. (A unary call with a 1 µs
        // budget, `expired_unary`, must be DEADLINE_EXCEEDED too: checked with the other checks above.)
        let deadline = try #require(checks["deadline"], "\(report)")
        #expect(deadline.code == "DEADLINE_EXCEEDED")
        #expect(deadline.reason == "DEADLINE_EXCEEDED")
        #expect(deadline.messages == 1)
        #expect((deadline.elapsedMs ?? 0) >= 200)

        // (d) A key not in the roster: the handshake is refused (ZAP 400), no answer, and the node logs the key.
        let stranger = try #require(checks["unauthenticated"], "\(report)")
        #expect(stranger.answered == false)
        #expect(stranger.handshakeEvents?.contains("HANDSHAKE_FAILED_AUTH") == true)
        #expect(stranger.handshakeEvents?.contains("HANDSHAKE_SUCCEEDED") == false)
        #expect(stranger.zapStatus == 400)
        let key = try #require(stranger.publicKeyZ85)
        #expect(key.count == 40)
        let refusal = try await node.stderrLine(within: .seconds(60)) { $0.contains("key=\(key)") }
        #expect(refusal.contains("refused a CurveZMQ handshake"), "\(refusal)")
        #expect(refusal.contains("the key is not in the roster"), "\(refusal)")

        // (e) The node's auditor writing: refused by role; its read works.
        let permission = try #require(checks["permission"], "\(report)")
        #expect(permission.code == "PERMISSION_DENIED")
        #expect(permission.reason == "PERMISSION_DENIED")
        #expect(permission.message?.contains("auditor.wuhou") == true, "\(permission.message ?? "-")")
        #expect(permission.listed == 40)
        let logged = try await node.stderrLine(within: .seconds(60)) {
            $0.contains("caller=auditor.wuhou") && $0.contains("method=/coop.v1.Ledger/UpdateStatus")
        }
        #expect(logged.contains("reason=PERMISSION_DENIED"), "\(logged)")

        let unknown = try #require(checks["unknown_method"], "\(report)")
        #expect(unknown.code == "UNIMPLEMENTED")
        #expect(unknown.reason == "UNKNOWN_METHOD")
        let malformed = try #require(checks["malformed_request"], "\(report)")
        #expect(malformed.code == "INVALID_ARGUMENT")
        #expect(malformed.reason == "MALFORMED_REQUEST")
        #expect(malformed.message?.contains("coop.v1.GetItemRequest") == true, "\(malformed.message ?? "-")")

        // SIGTERM drains and exits 0.
        node.signal(SIGTERM)
        let ending = await node.exit(within: .seconds(120))
        #expect(ending == .exited(0), "coop node run: \(ending)\nstderr:\n\(node.stderrText)")
        #expect(node.stderrText.contains("draining"), "\(node.stderrText)")
    }
}

/// One line of `rpc_interop.py client`: the check's name, whether it held, and the values it saw.
private struct PythonCheck: Decodable {
    var check: String
    var ok: Bool
    var problems: [String]
    var code: String?
    var reason: String?
    var message: String?
    // unary
    var item: String?
    var origin: String?
    var sequence: Int?
    var entryIdBytes: Int?
    var status: String?
    var reporter: String?
    var getStatus: String?
    var getProgress: Int?
    var getNote: String?
    var getHeadIsEntry: Bool?
    var getItemId: String?
    // stream_credit
    var credit: Int?
    var initial: Int?
    var distinctItems: Int?
    var received: Int?
    var granted: Int?
    var grants: Int?
    var betweenGrants: [Int]?
    var maxBetweenGrants: Int?
    var quietAfterWindow: Int?
    var windowsChecked: Int?
    var updatedItem: String?
    var updatedItemStatus: String?
    var endCode: String?
    // stream_batch
    var batch: Int?
    var serverMessages: Int?
    var maxPerMessage: Int?
    var packedBatches: Int?
    var frameBatches: Int?
    // deadline
    var messages: Int?
    var elapsedMs: Int?
    // unauthenticated
    var publicKeyZ85: String?
    var handshakeEvents: [String]?
    var zapStatus: Int?
    var answered: Bool?
    // permission
    var listed: Int?
}
