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
        let input = try makePipe()
        let output = try makePipe()
        let error = try stderrIsTerminal ? makeTerminal() : makePipe()
        var parentEnds = [input.write, output.read, error.read]
        var childEnds = [input.read, output.write, error.write]
        defer { for fd in parentEnds + childEnds where fd >= 0 { closeDescriptor(fd) } }

        let pid = try spawn(
            executable,
            [Array(executable.utf8)] + rawArguments,
            stdio: childEnds,
            currentDirectory: currentDirectory
        )
        for fd in childEnds { closeDescriptor(fd) }
        childEnds = []

        var streams = Streams(stdin: stdin, fds: parentEnds)
        parentEnds = []
        var timedOut = !streams.pump(until: deadline)
        if timedOut { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, timedOut ? 0 : WNOHANG)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR { throw SpawnError(what: "waitpid", errno: errno) }
            if !timedOut && ContinuousClock.now >= deadline {
                kill(pid, SIGKILL)
                timedOut = true
            } else if !timedOut {
                usleep(2_000)
            }
        }
        streams.closeAll()
        let ending: Ending
        if timedOut {
            ending = .timedOut
        } else if status & 0x7f == 0 {
            ending = .exited((status >> 8) & 0xff)
        } else {
            ending = .signaled(status & 0x7f)
        }
        return RawResult(ending: ending, stdout: streams.stdout, stderr: streams.stderr)
    }

    /// A failed system call while starting or watching a child.
    struct SpawnError: Error, CustomStringConvertible {
        var what: String
        var errno: Int32
        var description: String { "\(what): \(String(cString: strerror(errno)))" }
    }

    /// A writing process must not die of SIGPIPE when a child exits before reading all of its input.
    private static let ignoreBrokenPipes: Void = {
        signal(SIGPIPE, SIG_IGN)
    }()

    /// A pipe whose ends are closed on exec (the child gets copies through its file actions).
    private static func makePipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { throw SpawnError(what: "pipe", errno: errno) }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }

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

    private static func spawn(
        _ executable: String,
        _ arguments: [[UInt8]],
        stdio: [Int32],
        currentDirectory: String?
    ) throws -> pid_t {
        #if canImport(Glibc)
        var actions = posix_spawn_file_actions_t()
        #else
        var actions: posix_spawn_file_actions_t?
        #endif
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (target, fd) in stdio.enumerated() {
            posix_spawn_file_actions_adddup2(&actions, fd, Int32(target))
        }
        if let currentDirectory {
            _ = LibC.posix_spawn_file_actions_addchdir_np(&actions, currentDirectory)
        }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { bytes in
            let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
            for (i, byte) in bytes.enumerated() { copy[i] = CChar(bitPattern: byte) }
            copy[bytes.count] = 0
            return copy
        }
        argv.append(nil)
        defer { for pointer in argv { pointer?.deallocate() } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard code == 0 else { throw SpawnError(what: "posix_spawn \(executable)", errno: code) }
        return pid
    }

    /// The parent's ends of the child's standard input, output and error, moved by `poll`.
    private struct Streams {
        var stdin: [UInt8]
        var written = 0
        /// Standard input, output, error; -1 once closed.
        var fds: [Int32]
        var stdout: [UInt8] = []
        var stderr: [UInt8] = []

        init(stdin: [UInt8], fds: [Int32]) {
            self.stdin = stdin
            self.fds = fds
            _ = fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK)
            if stdin.isEmpty { shut(0) }
        }

        /// Writes standard input and reads output until both outputs are closed; false if `deadline` came first.
        mutating func pump(until deadline: ContinuousClock.Instant) -> Bool {
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while fds[1] >= 0 || fds[2] >= 0 {
                let left = deadline - ContinuousClock.now
                guard left > .zero else { return false }
                let milliseconds = Int32(min(left.components.seconds * 1000 + 1, 200))
                var polled = fds.enumerated().map { i, fd in
                    pollfd(fd: fd, events: Int16(i == 0 ? POLLOUT : POLLIN), revents: 0)
                }
                let ready = poll(&polled, nfds_t(polled.count), milliseconds)
                if ready < 0 && errno != EINTR { return true }
                if ready <= 0 { continue }
                if fds[0] >= 0 && polled[0].revents != 0 { writeInput() }
                for i in 1...2 where fds[i] >= 0 && polled[i].revents != 0 {
                    let n = buffer.withUnsafeMutableBytes { read(fds[i], $0.baseAddress, $0.count) }
                    if n > 0 {
                        if i == 1 { stdout += buffer[..<n] } else { stderr += buffer[..<n] }
                    } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                        // 0: end of file; EIO: a terminal's slave side was closed.
                        shut(i)
                    }
                }
            }
            return true
        }

        private mutating func writeInput() {
            let n = stdin.withUnsafeBytes { write(fds[0], $0.baseAddress! + written, $0.count - written) }
            if n > 0 {
                written += n
                if written == stdin.count { shut(0) }
            } else if errno != EINTR && errno != EAGAIN {
                shut(0)
            }
        }

        mutating func shut(_ index: Int) {
            if fds[index] >= 0 { closeDescriptor(fds[index]) }
            fds[index] = -1
        }

        mutating func closeAll() {
            for i in fds.indices { shut(i) }
        }
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
    static let posix_spawn_file_actions_addchdir_np = function(
        "posix_spawn_file_actions_addchdir_np",
        (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, UnsafePointer<CChar>?) -> Int32).self
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
    static func posix_spawn_file_actions_addchdir_np(
        _ actions: UnsafeMutablePointer<posix_spawn_file_actions_t>?,
        _ path: UnsafePointer<CChar>?
    ) -> Int32 {
        Darwin.posix_spawn_file_actions_addchdir_np(actions, path)
    }
}
#endif
