// The Python interop tests' tools: python3 with pyzmq and protobuf, protoc, and a child process whose output is
// read on threads of its own (never the Swift concurrency pool). Shared by Tests/CoopNodeTests/PythonClientTests
// and Tests/CoopRPCTests/PythonServerTests.

import CoopProcess
import Foundation
import Synchronization
import Testing

/// python3 with pyzmq and google.protobuf, and protoc: checked first, so that a missing tool fails with what to
/// install.
public enum PythonRPCTools {
    public static let script = ChildProcess.repositoryRoot() + "/Tests/interop/rpc_interop.py"

    /// Fails (never skips) naming what to install.
    public static func require() async throws {
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

public struct ProgramError: Error, CustomStringConvertible {
    public var description: String
}

/// A child process the test talks to while it runs; its standard output and error are collected as they come.
///
/// Started as a ``SpawnedProcess``, which closes every other descriptor in the child, so that a long-lived child never
/// holds a pipe of another test running in parallel (whose reader would then wait for its end). The pipes are
/// close-on-exec in this process, so that children other tests spawn do not hold them either. Two threads
/// of its own read the output, not Dispatch's workers: on Linux Swift's tasks run on libdispatch's pool too, and
/// readers blocked there for as long as a long-lived child runs can hold back other tests' tasks. Waits poll.
public final class RunningProgram: Sendable {
    /// How a program run to its end ended, and what it wrote.
    public struct Result {
        public var ending: ChildProcess.Ending
        public var stdout: String
        public var stderr: String
    }

    private let process: SpawnedProcess
    private let input: FileHandle
    private let output = Mutex<(stdout: [UInt8], stderr: [UInt8], open: Int)>(([], [], 2))

    public init(_ executable: String, _ arguments: [String], currentDirectory: String? = nil) throws {
        let process = try SpawnedProcess(
            executable,
            arguments,
            currentDirectory: currentDirectory,
            standardInput: .pipe,
            standardOutput: .pipe,
            standardError: .pipe
        )
        self.process = process
        // The three handles exist: all three streams are pipes.
        self.input = process.standardInput!
        for (handle, isError) in [(process.standardOutput!, false), (process.standardError!, true)] {
            Thread { self.collect(handle, isError: isError) }.start()
        }
    }

    /// Runs a program to its end, waiting at most `timeout` (then it is killed).
    public static func run(_ executable: String, _ arguments: [String], within timeout: Duration) async throws -> Result
    {
        let program = try RunningProgram(executable, arguments, currentDirectory: ChildProcess.repositoryRoot())
        program.closeInput()
        let ending = await program.exit(within: timeout)
        return Result(ending: ending, stdout: program.stdoutText, stderr: program.stderrText)
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

    public var stdoutText: String { output.withLock { String(decoding: $0.stdout, as: UTF8.self) } }
    public var stderrText: String { output.withLock { String(decoding: $0.stderr, as: UTF8.self) } }

    /// The first whole line of standard output matching `predicate`, waiting for it at most `timeout`.
    public func stdoutLine(within timeout: Duration, where predicate: (String) -> Bool) async throws -> String {
        try await line(of: { $0.stdoutText }, "standard output", within: timeout, where: predicate)
    }

    /// The first whole line of standard error matching `predicate`, waiting for it at most `timeout`.
    public func stderrLine(within timeout: Duration, where predicate: (String) -> Bool) async throws -> String {
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
                let program = process.executable.split(separator: "/").last ?? "-"
                throw ProgramError(
                    description: "no such line on the \(name) of \(program) "
                        + "\(closed ? "before it ended" : "within \(timeout)"):\n\(text(self))"
                )
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    public func signal(_ signal: Int32) {
        process.send(signal)
    }

    /// Closes the program's standard input (it reads end of file).
    public func closeInput() {
        try? input.close()
    }

    /// Kills the program (SIGKILL) if it still runs: cleanup after a failed test.
    public func stop() {
        signal(SIGKILL)
        closeInput()
    }

    /// How the program ended, waiting at most `timeout` (then it is killed) and for its output to be read.
    public func exit(within timeout: Duration) async -> ChildProcess.Ending {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning || output.withLock({ $0.open > 0 }) {
            if ContinuousClock.now >= deadline {
                stop()
                return .timedOut
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        closeInput()
        return ChildProcess.Ending(await process.waitForExit())
    }
}
