// The Swift RPCClient against a server in another language, written only from docs/PROTOCOL.md and proto/:
// `Tests/interop/rpc_interop.py serve` (a pyzmq ROUTER, plain text or CurveZMQ with its own ZAP handler, Google's
// protobuf runtime).
//
// Requires python3 with pyzmq and google.protobuf (pip install pyzmq protobuf) and protoc (apt-get install
// protobuf-compiler). A missing tool fails the test; it never skips it. See Tests/interop/README.md.

import CoopRPC
import CoopTestKit
import CoopWire
import CoopZMQ
import Foundation
import Synchronization
import Testing

@Suite("Interop: RPCClient against a Python server", .timeLimit(.minutes(5)))
struct PythonServerTests {
    @Test(
        "typed answers and error statuses (code, reason, message, trailing metadata) from a Python server",
        arguments: [false, true]
    )
    func pythonServer(curve: Bool) async throws {
        try await PythonRPCTools.require()
        let clientKeys = try ZMQCurve.keyPair()
        var arguments = ["python3", PythonRPCTools.script, "serve"]
        if curve { arguments += ["--client-key", Data(clientKeys.publicKey).base64EncodedString()] }
        let server = try RunningProgram("/usr/bin/env", arguments)
        do {
            try await exercise(server, curve: curve ? clientKeys : nil)
        } catch {
            server.stop()
            throw error
        }
    }

    private func exercise(
        _ server: RunningProgram,
        curve clientKeys: (publicKey: [UInt8], secretKey: [UInt8])?
    ) async throws {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let first = try await server.stdoutLine(within: .seconds(180)) { $0.hasPrefix("{") }
        let ready = try decoder.decode(ServerReady.self, from: Data(first.utf8))
        #expect(ready.endpoint.hasPrefix("tcp://127.0.0.1:"), "\(first)")
        var curve: RPCClientCurve?
        if let clientKeys {
            let serverKey = try #require(ready.serverPublicKey.flatMap { Data(base64Encoded: $0) }, "\(first)")
            curve = RPCClientCurve(
                serverPublicKey: [UInt8](serverKey),
                publicKey: clientKeys.publicKey,
                secretKey: clientKeys.secretKey
            )
        } else {
            #expect(ready.serverPublicKey == nil, "\(first)")
        }
        let caller = clientKeys == nil ? "" : "swift-client"
        let reactor = try ZMQReactor(context: try ZMQContext(), name: "py-server-test")
        let client = RPCClient(reactor: reactor, endpoint: ready.endpoint, curve: curve)
        do {
            try await client.connect()
            try await call(client, as: caller)
        } catch {
            await client.close()
            await reactor.shutdown()
            throw error
        }
        await client.close()
        await reactor.shutdown()

        // End of input ends the server, which reports every call it served.
        server.closeInput()
        let ending = await server.exit(within: .seconds(60))
        #expect(ending == .exited(0), "rpc_interop.py serve: \(ending)\nstderr:\n\(server.stderrText)")
        let last = try #require(server.stdoutText.split(separator: "\n").last.map(String.init))
        let summary = try decoder.decode(ServerSummary.self, from: Data(last.utf8))
        #expect(
            summary.served.map(\.method) == [
                "/coop.v1.Health/Check", "/coop.v1.Health/Check", "/coop.v1.Ledger/UpdateStatus",
                "/coop.v1.Ledger/Teleport",
            ],
            "\(last)"
        )
        #expect(Set(summary.served.map(\.callId)).count == 4, "call ids are unique: \(last)")
        #expect(summary.served.allSatisfy { $0.kind == "request" && $0.callId != 0 && $0.caller == caller })
        #expect(summary.served.allSatisfy { $0.timeoutUs > 0 && $0.timeoutUs <= 120_000_000 }, "\(last)")
        #expect(summary.refusedKeys.isEmpty, "\(last)")
    }

    /// The four calls, each checked as the Swift client sees its answer.
    private func call(_ client: RPCClient, as caller: String) async throws {
        let timeout = Duration.seconds(120)

        // OK with a typed response, and response metadata: the remaining budget the server was sent, the caller.
        let answer = try await client.unary(
            "/coop.v1.Health/Check",
            HealthCheckRequest().wireBytes(),
            timeout: timeout
        )
        let health = try HealthCheckResponse(wireBytes: answer.body)
        #expect(health.status == .serving)
        #expect(health.reasons.count == 1)
        #expect(health.reasons.first?.hasPrefix("answered by the Python interop server (pyzmq ") == true)
        let budget = try #require(answer.metadata["timeout-us"].flatMap { UInt64($0) }, "\(answer.metadata)")
        #expect(budget > 0 && budget <= 120_000_000)
        #expect(answer.metadata["caller"] == caller)

        // Errors: the status's code, reason and message, and trailing metadata, as the Python server sent them.
        let unknownService = await #expect(throws: RPCError.self) {
            _ = try await client.unary(
                "/coop.v1.Health/Check",
                HealthCheckRequest(service: "coop.v1.Nowhere").wireBytes(),
                timeout: timeout
            )
        }
        #expect(unknownService?.code == .notFound)
        #expect(unknownService?.reason == "UNKNOWN_SERVICE")
        #expect(unknownService?.message == "no service named 'coop.v1.Nowhere' on the Python server")

        let refused = await #expect(throws: RPCError.self) {
            _ = try await client.unary(
                "/coop.v1.Ledger/UpdateStatus",
                UpdateStatusRequest(itemId: "CY-07", status: .assigned, progress: 5).wireBytes(),
                timeout: timeout
            )
        }
        #expect(refused?.code == .failedPrecondition)
        #expect(refused?.reason == "PYTHON_KEEPS_NO_LEDGER")
        #expect(refused?.message == "条目 CY-07: the Python server keeps no ledger")
        #expect(refused?.metadata["retry"] == "never")
        let heads = refused?.metadata.first { $0.key == "coop-heads-bin" }?.value
        #expect(heads == .binary((0...255).map { UInt8($0) } + (0...255).map { UInt8($0) }))

        let unknownMethod = await #expect(throws: RPCError.self) {
            _ = try await client.unary("/coop.v1.Ledger/Teleport", [], timeout: timeout)
        }
        #expect(unknownMethod?.code == .unimplemented)
        #expect(unknownMethod?.reason == RPCReason.unknownMethod)
        #expect(unknownMethod?.message == "no method /coop.v1.Ledger/Teleport on the Python server")
    }
}

/// The first line of `rpc_interop.py serve`.
private struct ServerReady: Decodable {
    var endpoint: String
    var serverPublicKey: String?
}

/// The last line of `rpc_interop.py serve`: what it served.
private struct ServerSummary: Decodable {
    struct Call: Decodable {
        var kind: String
        var callId: UInt64
        var method: String
        var timeoutUs: UInt64
        var caller: String
    }

    var served: [Call]
    var refusedKeys: [String]
}
