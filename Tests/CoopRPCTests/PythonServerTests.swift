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

// MARK: - Tools and child processes

/// python3 with pyzmq and google.protobuf, and protoc: checked first, so that a missing tool fails with what to
/// install.
private enum PythonRPCTools {
    static let script = ChildProcess.repositoryRoot() + "/Tests/interop/rpc_interop.py"

    /// Fails (never skips) naming what to install.
    static func require() async throws {
        let checks: [([String], String)] = [
            (["python3", "--version"], "python3 (3.11 or later) is required: apt-get install python3"),
            (["python3", "-c", "import zmq"], "pyzmq is required: pip install pyzmq (or run scripts/setup.sh)"),
            (
                ["python3", "-c", "import google.protobuf"],
                "google.protobuf is required: pip install protobuf (7.x; or run scripts/setup.sh)"
            ),
            (["protoc", "--version"], "protoc is required: apt-get install protobuf-compiler (3.21 or later)"),
        ]
        for (arguments, help) in checks {
            let result: RunningProgram.Result
            do {
                result = try await RunningProgram.run("/usr/bin/env", arguments, within: .seconds(120))
            } catch {
                Issue.record("\(help)\ncould not run \(arguments.joined(separator: " ")): \(error)")
                throw error
            }
            try #require(result.ending == .exited(0), "\(help)\n\(result.ending): \(result.stderr)")
        }
    }
}

private struct ProgramError: Error, CustomStringConvertible {
    var description: String
}

/// A child process the test talks to while it runs; its standard output and error are collected as they come.
///
/// Started through Foundation's `Process`, which closes every other descriptor in the child, so that a long-lived
/// child never holds a pipe of another test running in parallel (whose reader would then wait for its end). The
/// pipes are close-on-exec in this process, so that children other tests spawn do not hold them either. Two threads
/// of its own read the output, not Dispatch's workers: on Linux Swift's tasks run on libdispatch's pool too, and
/// readers blocked there for as long as a long-lived child runs can hold back other tests' tasks. Waits poll.
private final class RunningProgram: Sendable {
    /// How a program run to its end ended, and what it wrote.
    struct Result {
        var ending: ChildProcess.Ending
        var stdout: String
        var stderr: String
    }

    private let process: Process
    private let input: FileHandle
    private let output = Mutex<(stdout: [UInt8], stderr: [UInt8], open: Int)>(([], [], 2))

    init(_ executable: String, _ arguments: [String], currentDirectory: String? = nil) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        let stdin = try Self.makePipe()
        let stdout = try Self.makePipe()
        let stderr = try Self.makePipe()
        process.standardInput = stdin.read
        process.standardOutput = stdout.write
        process.standardError = stderr.write
        defer {
            // The child has its copies (or never started): only this process's ends stay open here.
            for end in [stdin.read, stdout.write, stderr.write] { try? end.close() }
        }
        try process.run()
        self.process = process
        self.input = stdin.write
        for (handle, isError) in [(stdout.read, false), (stderr.read, true)] {
            Thread { self.collect(handle, isError: isError) }.start()
        }
    }

    /// Runs a program to its end, waiting at most `timeout` (then it is killed).
    static func run(_ executable: String, _ arguments: [String], within timeout: Duration) async throws -> Result {
        let program = try RunningProgram(executable, arguments, currentDirectory: ChildProcess.repositoryRoot())
        program.closeInput()
        let ending = await program.exit(within: timeout)
        return Result(ending: ending, stdout: program.stdoutText, stderr: program.stderrText)
    }

    /// A pipe whose two ends are close-on-exec (the child gets its end as 0, 1 or 2 through `dup2`).
    private static func makePipe() throws -> (read: FileHandle, write: FileHandle) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (
            FileHandle(fileDescriptor: fds[0], closeOnDealloc: true),
            FileHandle(fileDescriptor: fds[1], closeOnDealloc: true)
        )
    }

    private func collect(_ handle: FileHandle, isError: Bool) {
        while true {
            let data = handle.availableData
            output.withLock { o in
                if data.isEmpty {
                    o.open -= 1
                } else if isError {
                    o.stderr += data
                } else {
                    o.stdout += data
                }
            }
            if data.isEmpty { return }
        }
    }

    var stdoutText: String { output.withLock { String(decoding: $0.stdout, as: UTF8.self) } }
    var stderrText: String { output.withLock { String(decoding: $0.stderr, as: UTF8.self) } }

    /// The first whole line of standard output matching `predicate`, waiting for it at most `timeout`.
    func stdoutLine(within timeout: Duration, where predicate: (String) -> Bool) async throws -> String {
        try await line(of: { $0.stdoutText }, "standard output", within: timeout, where: predicate)
    }

    /// The first whole line of standard error matching `predicate`, waiting for it at most `timeout`.
    func stderrLine(within timeout: Duration, where predicate: (String) -> Bool) async throws -> String {
        try await line(of: { $0.stderrText }, "standard error", within: timeout, where: predicate)
    }

    private func line(
        of text: (RunningProgram) -> String,
        _ name: String,
        within timeout: Duration,
        where predicate: (String) -> Bool
    ) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while true {
            let lines = text(self).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            if let found = lines.first(where: { predicate(String($0)) }) { return String(found) }
            let closed = output.withLock { $0.open == 0 }
            if closed || ContinuousClock.now >= deadline {
                throw ProgramError(
                    description: "no such line on the \(name) of \(process.executableURL?.lastPathComponent ?? "-") "
                        + "\(closed ? "before it ended" : "within \(timeout)"):\n\(text(self))"
                )
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    func signal(_ signal: Int32) {
        if process.isRunning { kill(process.processIdentifier, signal) }
    }

    /// Closes the program's standard input (it reads end of file).
    func closeInput() {
        try? input.close()
    }

    /// Kills the program (SIGKILL) if it still runs: cleanup after a failed test.
    func stop() {
        signal(SIGKILL)
        closeInput()
    }

    /// How the program ended, waiting at most `timeout` (then it is killed) and for its output to be read.
    func exit(within timeout: Duration) async -> ChildProcess.Ending {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning || output.withLock({ $0.open > 0 }) {
            if ContinuousClock.now >= deadline {
                stop()
                return .timedOut
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        closeInput()
        return process.terminationReason == .exit
            ? .exited(process.terminationStatus) : .signaled(process.terminationStatus)
    }
}
