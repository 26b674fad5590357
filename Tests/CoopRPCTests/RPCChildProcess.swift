import CoopProcess
import CoopTestKit
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A running `coop-rpc-child` (Tests/RPCChild): a real process holding an RPC server, to kill with SIGKILL or stop
/// with SIGSTOP. Its output lines arrive through an ``Inbox``; nothing blocks a Swift concurrency thread.
final class RPCChildProcess: Sendable {
    private let process: SpawnedProcess
    /// Standard output, line by line.
    let lines = Inbox<String>()
    private let exited = Inbox<Int32>()
    private let buffer = Mutex<[UInt8]>([])

    /// Starts `coop-rpc-child` with `arguments`.
    init(_ arguments: [String]) throws {
        let process = try SpawnedProcess(
            try ChildProcess.product("coop-rpc-child"),
            arguments,
            standardOutput: .pipe
        )
        self.process = process
        // The exit is awaited on a thread of its own.
        let exited = exited
        Thread {
            exited.put(process.waitUntilExit().status)
        }.start()
        process.standardOutput!.readabilityHandler = { [self] handle in
            let chunk = handle.availableData
            if chunk.isEmpty {
                handle.readabilityHandler = nil
                return
            }
            let complete: [String] = self.buffer.withLock { pending in
                pending += chunk
                var found: [String] = []
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    found.append(String(decoding: pending[..<newline], as: UTF8.self))
                    pending.removeSubrange(...newline)
                }
                return found
            }
            for line in complete { self.lines.put(line) }
        }
    }

    /// A server child: starts it and waits for the endpoint it bound.
    static func server(
        _ endpoint: String = "tcp://127.0.0.1:0",
        heartbeat: Bool = true
    ) async throws -> (RPCChildProcess, String) {
        let child = try RPCChildProcess(["server", endpoint] + (heartbeat ? [] : ["--no-heartbeat"]))
        let line = try await child.lines.next(limit: patient, "the child server's endpoint")
        guard line.hasPrefix("LISTENING ") else { throw TimedOut(what: "LISTENING, got \(line)") }
        return (child, String(line.dropFirst("LISTENING ".count)))
    }

    var pid: Int32 { process.pid }

    /// Sends `signal` (SIGKILL, SIGSTOP, SIGCONT).
    func signal(_ signal: Int32) {
        process.send(signal)
    }

    /// Waits for the process to end; returns its status (or signal).
    func waitForExit() async throws -> Int32 {
        try await exited.next(limit: patient, "the child to exit")
    }

    /// Kills it (if it still runs) and waits for it.
    func stop() async {
        signal(SIGCONT)
        signal(SIGKILL)
        _ = try? await waitForExit()
    }
}
