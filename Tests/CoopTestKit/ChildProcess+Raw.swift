import CoopProcess
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ChildProcess {
    /// How a process run by ``run(_:rawArguments:stdin:currentDirectory:timeout:stderrIsTerminal:)`` ended.
    public enum Ending: Sendable, Equatable, CustomStringConvertible {
        /// It called `exit` with this status.
        case exited(Int32)
        /// A signal ended it (a Swift trap is SIGILL or SIGTRAP, a bad mapping SIGBUS).
        case signaled(Int32)
        /// It was still running at the deadline and was killed with SIGKILL.
        case timedOut

        public var description: String {
            switch self {
            case .exited(let status): "exit \(status)"
            case .signaled(let signal): "signal \(signal)"
            case .timedOut: "killed at the deadline"
            }
        }

        init(_ termination: SpawnedProcess.Termination) {
            switch termination {
            case .exited(let status): self = .exited(status)
            case .signaled(let signal): self = .signaled(signal)
            }
        }
    }

    /// What a process run with raw arguments left.
    public struct RawResult: Sendable {
        public var ending: Ending
        public var stdout: [UInt8]
        /// Standard error; from a terminal's master side when the child had one as standard error.
        public var stderr: [UInt8]
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    }

    /// Runs `executable` with arguments given as bytes, which need not be UTF-8 (they must not hold a NUL byte),
    /// feeds it `stdin`, and waits at most `timeout` for it: a process still running then is killed with SIGKILL
    /// and reported as ``Ending/timedOut``. With `stderrIsTerminal` its standard error is a pseudo-terminal (raw
    /// mode), so that it draws what it draws only on a terminal. Blocks the calling thread.
    public static func run(
        _ executable: String,
        rawArguments: [[UInt8]],
        stdin: [UInt8] = [],
        currentDirectory: String? = nil,
        timeout: Duration = .seconds(60),
        stderrIsTerminal: Bool = false
    ) throws -> RawResult {
        _ = ignoreBrokenPipes
        let deadline = ContinuousClock.now + timeout
        let terminal = try stderrIsTerminal ? makeTerminal() : nil
        // The slave side is the child's: closed here once it has its copy, so that the master reads EIO at its end.
        var slave = terminal?.write ?? -1
        defer { if slave >= 0 { closeDescriptor(slave) } }
        let master = terminal.map { FileHandle(fileDescriptor: $0.read, closeOnDealloc: true) }
        let process = try SpawnedProcess(
            executable,
            rawArguments: rawArguments,
            currentDirectory: currentDirectory,
            standardInput: .pipe,
            standardOutput: .pipe,
            standardError: terminal == nil ? .pipe : .descriptor(slave)
        )
        if slave >= 0 {
            closeDescriptor(slave)
            slave = -1
        }
        let output = SpawnedProcess.communicate(
            input: stdin,
            to: process.standardInput,
            from: process.standardOutput,
            and: master ?? process.standardError,
            until: deadline
        )
        var timedOut = !output.complete
        while !timedOut && process.isRunning {
            if ContinuousClock.now >= deadline {
                timedOut = true
            } else {
                usleep(2_000)
            }
        }
        if timedOut { process.send(SIGKILL) }
        let ended = process.waitUntilExit()
        return RawResult(
            ending: timedOut ? .timedOut : Ending(ended),
            stdout: output.stdout,
            stderr: output.stderr
        )
    }

    /// A failed system call while starting or watching a child.
    struct SpawnError: Error, CustomStringConvertible {
        var what: String
        var errno: Int32
        var description: String { "\(what): \(String(cString: strerror(errno)))" }
    }

    /// A writing process must not die of SIGPIPE when a child exits before reading all of its input. (`communicate`
    /// keeps the SIGPIPE of its own writes from the process; this process-wide setting stays as it was, for any
    /// other writer in the tests.)
    private static let ignoreBrokenPipes: Void = {
        signal(SIGPIPE, SIG_IGN)
    }()

    /// A pseudo-terminal in raw mode: `read` is its master side, `write` its slave side.
    private static func makeTerminal() throws -> (read: Int32, write: Int32) {
        let master = LibC.posix_openpt(O_RDWR | O_NOCTTY)
        guard master >= 0 else { throw SpawnError(what: "posix_openpt", errno: errno) }
        _ = fcntl(master, F_SETFD, FD_CLOEXEC)
        var name = [CChar](repeating: 0, count: 256)
        guard LibC.grantpt(master) == 0, LibC.unlockpt(master) == 0, LibC.ptsname_r(master, &name, name.count) == 0
        else {
            let code = errno
            closeDescriptor(master)
            throw SpawnError(what: "grantpt/unlockpt/ptsname_r", errno: code)
        }
        let slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)
        guard slave >= 0 else {
            let code = errno
            closeDescriptor(master)
            throw SpawnError(what: "open (the terminal's slave side)", errno: code)
        }
        var settings = termios()
        tcgetattr(slave, &settings)
        cfmakeraw(&settings)
        tcsetattr(slave, TCSANOW, &settings)
        return (master, slave)
    }
}

/// `close(2)`, named apart from the `close` methods and properties around it.
private func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}

#if canImport(Glibc)
/// Functions glibc exports but Swift's Glibc module does not declare (they need `_GNU_SOURCE` or `_XOPEN_SOURCE`),
/// looked up by name once.
private enum LibC {
    private static func function<F>(_ name: String, _ type: F.Type) -> F {
        guard let symbol = dlsym(nil, name) else { fatalError("glibc has no \(name)") }
        return unsafeBitCast(symbol, to: type)
    }

    static let posix_openpt = function("posix_openpt", (@convention(c) (Int32) -> Int32).self)
    static let grantpt = function("grantpt", (@convention(c) (Int32) -> Int32).self)
    static let unlockpt = function("unlockpt", (@convention(c) (Int32) -> Int32).self)
    static let ptsname_r = function(
        "ptsname_r",
        (@convention(c) (Int32, UnsafeMutablePointer<CChar>?, Int) -> Int32).self
    )
}
#else
private enum LibC {
    static func posix_openpt(_ flags: Int32) -> Int32 { Darwin.posix_openpt(flags) }
    static func grantpt(_ fd: Int32) -> Int32 { Darwin.grantpt(fd) }
    static func unlockpt(_ fd: Int32) -> Int32 { Darwin.unlockpt(fd) }
    static func ptsname_r(_ fd: Int32, _ buffer: UnsafeMutablePointer<CChar>?, _ count: Int) -> Int32 {
        Darwin.ptsname_r(fd, buffer, count)
    }
}
#endif
