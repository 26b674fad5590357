import CoopProcess
import Dispatch
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `coop node run` child processes of `coop demo`: each started with its standard output and error appended to
/// `logs/<node>.log`, ready once that file shows its readiness line, stopped with SIGTERM or killed with SIGKILL.
///
/// **Threading.** Thread-safe: state behind a mutex; each child's exit is recorded by a thread of its own that waits
/// for it. The children are ``SpawnedProcess``es in process groups of their own (as Foundation's `Process` made them),
/// so a terminal's Ctrl-C reaches the demo only, which then stops them in order.
/// ``killAll(grace:)`` is synchronous so that a signal handler or a failing step can call it last; no child outlives
/// the demo unless the demo itself is killed with SIGKILL.
final class NodeProcesses: Sendable {
    /// How a child ended.
    struct Exit: Sendable, CustomStringConvertible {
        var status: Int32
        var signaled: Bool
        var description: String { signaled ? "killed by signal \(status)" : "exit \(status)" }
    }

    /// The children by process id; an exit may be recorded before ``start(_:config:timeout:)`` has filed the pid
    /// under its node.
    private struct Children {
        /// Node id → pid of its latest process.
        var latest: [String: Int32] = [:]
        var exits: [Int32: Exit] = [:]
        /// Kept until the process is gone; signals go through them (never to a reaped child's id).
        var processes: [Int32: SpawnedProcess] = [:]
        /// Set by ``killAll(grace:)``: no child starts after it.
        var stopping = false

        var running: [Int32] { latest.values.filter { exits[$0] == nil } }
    }

    private let children = Mutex(Children())
    private let signalSources = Mutex<[any DispatchSourceSignal]>([])
    /// The signal that interrupted the demo, once one has (its handler is stopping the nodes and will exit).
    private let interruption = Mutex<Int32?>(nil)
    var interruptedBy: Int32? { interruption.withLock { $0 } }
    let executable: String
    let logDirectory: String

    /// The readiness line's mark (see `LedgerNode.Readiness.line`).
    static let readyMark = " ready: serving "

    init(executable: String, logDirectory: String) {
        self.executable = executable
        self.logDirectory = logDirectory
    }

    func logPath(_ nodeID: String) -> String { "\(logDirectory)/\(nodeID).log" }

    /// Starts `coop node run --config config` for `nodeID` and returns its readiness line, or throws (with the end
    /// of its log) when it exits first or is not ready within `timeout`.
    func start(_ nodeID: String, config: String, timeout: Duration = .seconds(30)) async throws -> String {
        let log = logPath(nodeID)
        let fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DemoError("\(log): cannot open the log file: \(String(cString: strerror(errno)))") }
        let offset = lseek(fd, 0, SEEK_END)
        // Started and filed under one lock, so that killAll (a signal's handler) either sees the child or stops
        // it from starting.
        let started = Result {
            try children.withLock { all in
                guard !all.stopping else { throw DemoError("the demo is stopping") }
                let process: SpawnedProcess
                do {
                    process = try SpawnedProcess(
                        executable,
                        ["node", "run", "--config", config],
                        standardInput: .nullDevice,
                        standardOutput: .descriptor(fd),
                        standardError: .descriptor(fd),
                        newProcessGroup: true
                    )
                } catch {
                    throw DemoError("\(error)")
                }
                all.latest[nodeID] = process.pid
                all.processes[process.pid] = process
                return process
            }
        }
        // The child has its copies of the log's descriptor (or never started).
        close(fd)
        let process = try started.get()
        let waiter = Thread { [self] in
            let ending = process.waitUntilExit()
            let exit = Exit(status: ending.status, signaled: ending.signal != nil)
            children.withLock { all in
                all.exits[process.pid] = exit
                all.processes[process.pid] = nil
            }
        }
        waiter.stackSize = 1 << 18
        waiter.start()
        let deadline = ContinuousClock.now + timeout
        while true {
            let text = Self.read(log, from: UInt64(max(0, offset)))
            if let line = text.split(separator: "\n").first(where: { $0.contains(Self.readyMark) }) {
                return String(line)
            }
            if let exit = ended(nodeID) {
                throw DemoError("\(nodeID) stopped before it was ready (\(exit)): \(Self.tail(text))")
            }
            guard ContinuousClock.now < deadline else {
                throw DemoError("\(nodeID) not ready within \(timeout): \(Self.tail(text))")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// How `nodeID`'s last process ended, or `nil` while it runs.
    func ended(_ nodeID: String) -> Exit? {
        children.withLock { all in all.latest[nodeID].flatMap { all.exits[$0] } }
    }

    /// Sends `signal` to `nodeID` and waits (up to `timeout`) for it to exit; returns how it ended.
    func send(_ signal: Int32, to nodeID: String, timeout: Duration = .seconds(20)) async throws -> Exit {
        guard let process = children.withLock({ all in all.latest[nodeID].flatMap { all.processes[$0] } }) else {
            throw DemoError("\(nodeID) is not running")
        }
        process.send(signal)
        let deadline = ContinuousClock.now + timeout
        while true {
            if let exit = ended(nodeID) { return exit }
            guard ContinuousClock.now < deadline else { throw DemoError("\(nodeID) did not exit within \(timeout)") }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Stops `nodeID` with SIGTERM (drain, sync, checkpoint) and checks that it exits 0.
    func stop(_ nodeID: String) async throws {
        let exit = try await send(SIGTERM, to: nodeID)
        guard !exit.signaled, exit.status == 0 else {
            throw DemoError("\(nodeID) ended with \(exit) after SIGTERM; see \(logPath(nodeID))")
        }
    }

    /// Ends every running child: SIGTERM, then SIGKILL for those still running after `grace`. Blocks until they are
    /// gone (at most `grace` plus two seconds).
    func killAll(grace: Duration = .zero) {
        func running() -> [SpawnedProcess] { children.withLock { all in all.running.compactMap { all.processes[$0] } } }
        children.withLock { $0.stopping = true }
        for process in running() { process.send(grace == .zero ? SIGKILL : SIGTERM) }
        let deadline = ContinuousClock.now + grace
        while !running().isEmpty, ContinuousClock.now < deadline { usleep(20_000) }
        for process in running() { process.send(SIGKILL) }
        let end = ContinuousClock.now + .seconds(2)
        while !running().isEmpty, ContinuousClock.now < end { usleep(20_000) }
    }

    /// On SIGINT, SIGTERM or SIGHUP to the demo: stops the children (SIGTERM, SIGKILL after three seconds), says so,
    /// and exits 128 + the signal. SIGPIPE is ignored (a closed standard output must not end the demo before its
    /// children).
    func stopOnSignals() {
        signal(SIGPIPE, SIG_IGN)
        signalSources.withLock { sources in
            for number in [SIGINT, SIGTERM, SIGHUP] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler { [self] in
                    interruption.withLock { $0 = $0 ?? number }
                    DemoOutput.err("\ninterrupted (signal \(number)): stopping the nodes")
                    killAll(grace: .seconds(3))
                    exit(128 + number)
                }
                source.resume()
                sources.append(source)
            }
        }
    }

    private static func read(_ path: String, from offset: UInt64) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        try? handle.seek(toOffset: offset)
        return String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
    }

    /// The last lines of a log, on one line.
    private static func tail(_ text: String) -> String {
        let lines = text.split(separator: "\n").suffix(3)
        return lines.isEmpty ? "(nothing logged)" : lines.joined(separator: " | ")
    }
}
