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
            ["dev", "mesh", meshDirectory, "--catalog", Fixtures.catalogPath],
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
                "deadline", "expired_unary", "malformed_request", "permission", "stream_credit", "unary",
                "unauthenticated", "unknown_method",
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
