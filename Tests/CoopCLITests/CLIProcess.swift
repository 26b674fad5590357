import CoopProcess
import CoopTestKit
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A `coop` child process for tests that must not block Swift Testing's small thread pool: output is read on
/// threads of its own, the exit is awaited on a thread of its own too, and waiting for output polls with `Task.sleep`.
/// A process still running at its deadline is killed (SIGKILL), so no test can hang on one.
///
/// Not on Dispatch's global queues: on Linux, Swift concurrency's executor runs on the same thread pool, so reads that
/// block there for a child's lifetime starve every task of the test process — the nodes' handlers among them, whose
/// answers then come only after their clients gave up.
final class CLIProcess: Sendable {
    /// How the process ended.
    struct Result: Sendable, CustomStringConvertible {
        var status: Int32
        /// Whether a signal ended it (then `status` is the signal).
        var signaled: Bool
        var stdout: String
        var stderr: String
        /// Seconds from start to exit.
        var seconds: Double

        var description: String { "exit \(signaled ? "signal " : "")\(status) after \(seconds) s; stderr: \(stderr)" }

        /// The non-empty lines of standard output.
        var lines: [String] { stdout.split(separator: "\n").map(String.init) }
    }

    private struct State {
        var stdout = Data()
        var stderr = Data()
        var openPipes = 2
        var exited: (status: Int32, signaled: Bool)?
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())
    private let started = Date()
    private let process: SpawnedProcess

    /// Starts `coop` with `arguments`; the environment is this process's without `COOP_CLIENT`, plus `environment`.
    init(
        _ arguments: [String],
        environment: [String: String] = [:],
        stdin: [UInt8] = [],
        currentDirectory: String? = nil,
        deadline: Duration = .seconds(120)
    ) throws {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "COOP_CLIENT")
        env.merge(environment) { _, new in new }
        let process = try SpawnedProcess(
            try ChildProcess.product("coop"),
            arguments,
            environment: env,
            currentDirectory: currentDirectory,
            standardInput: .pipe,
            standardOutput: .pipe,
            standardError: .pipe
        )
        self.process = process
        // All three streams are pipes, so all three handles exist.
        read(process.standardOutput!, isStandardOutput: true)
        read(process.standardError!, isStandardOutput: false)
        let input = process.standardInput!
        Self.detach {
            input.write(Data(stdin))
            try? input.close()
        }
        Self.detach { [self] in
            let ending = process.waitUntilExit()
            let waiters = state.withLock { s in
                s.exited = (ending.status, ending.signal != nil)
                return s.openPipes == 0 ? s.waiters : []
            }
            for waiter in waiters { waiter.resume() }
        }
        let (seconds, attoseconds) = deadline.components
        DispatchQueue.global().asyncAfter(
            deadline: .now() + .milliseconds(Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
        ) {
            process.send(SIGKILL)
        }
    }

    /// Runs blocking `work` on a thread of its own (see the type's note on Dispatch).
    static func detach(_ work: @escaping @Sendable () -> Void) {
        let thread = Thread(block: work)
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Reads `handle` to its end on a thread of its own, appending to stdout or stderr.
    private func read(_ handle: FileHandle, isStandardOutput: Bool) {
        Self.detach { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                state.withLock { s in
                    if isStandardOutput { s.stdout.append(chunk) } else { s.stderr.append(chunk) }
                }
            }
            let waiters = state.withLock { s in
                s.openPipes -= 1
                return s.openPipes == 0 && s.exited != nil ? s.waiters : []
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    /// Runs `coop` to its end.
    static func run(
        _ arguments: [String],
        environment: [String: String] = [:],
        stdin: [UInt8] = [],
        currentDirectory: String? = nil,
        deadline: Duration = .seconds(120)
    ) async throws -> Result {
        try await CLIProcess(
            arguments,
            environment: environment,
            stdin: stdin,
            currentDirectory: currentDirectory,
            deadline: deadline
        ).wait()
    }

    /// Standard output so far.
    var stdoutSoFar: String { String(decoding: state.withLock { $0.stdout }, as: UTF8.self) }

    /// Waits (polling, without blocking a thread) until standard output holds `text`; false at `timeout` or exit.
    func waitForOutput(containing text: String, timeout: Duration = .seconds(60)) async throws -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            if stdoutSoFar.contains(text) { return true }
            if state.withLock({ $0.exited != nil }) { return stdoutSoFar.contains(text) }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Sends SIGINT, as Ctrl-C does.
    func interrupt() {
        process.send(SIGINT)
    }

    /// Waits for the exit and the end of both outputs.
    func wait() async -> Result {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = state.withLock { s in
                if s.exited != nil && s.openPipes == 0 { return true }
                s.waiters.append(continuation)
                return false
            }
            if done { continuation.resume() }
        }
        return state.withLock { s in
            Result(
                status: s.exited?.status ?? -1,
                signaled: s.exited?.signaled ?? false,
                stdout: String(decoding: s.stdout, as: UTF8.self),
                stderr: String(decoding: s.stderr, as: UTF8.self),
                seconds: Date().timeIntervalSince(started)
            )
        }
    }
}
