import CCoopProcess
public import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process started with `posix_spawn`: its standard streams, its exit status, signals to it.
///
/// **Threading.** Thread-safe. Only this type reaps the child, always under its mutex, and caches the status once
/// reaped; a blocking wait waits without reaping (`waitid` with `WNOWAIT`) and reaps under the mutex afterwards. So
/// ``isRunning``, ``termination``, the waits and ``send(_:)`` may be called from any thread at once, and a signal is
/// never sent to the id of a reaped child (which the kernel may have given to another process by then).
///
/// **What the child gets.** Descriptors 0, 1 and 2 as asked for (``Stream``) and no other descriptor of this process:
/// every descriptor from 3 up is closed in the child (`posix_spawn_file_actions_addclosefrom_np`), close-on-exec or
/// not. Its signal mask is empty and every signal's disposition is the default one (a signal this process ignores,
/// such as SIGPIPE, is not ignored in the child). By default it stays in this process's process group, so a terminal's
/// Ctrl-C reaches it too; with `newProcessGroup` it leads a group of its own, as children of Foundation's `Process` do.
///
/// **Why not Foundation's `Process`.** On Linux, to close the other descriptors in the child, `Process.run()` lists
/// /proc/self/fd in the parent with a `readdir` loop that copies each entry's whole 256-byte `d_name`, reading past
/// the end of glibc's directory buffer: with a thousand or more descriptors open, it crashed the test process
/// (SIGSEGV). Here nothing is listed in the parent.
///
/// A child still running when its `SpawnedProcess` goes away is killed with SIGKILL and reaped in `deinit`: keep the
/// value for as long as the child should run. A child that has exited stays a zombie until it is reaped, by any of
/// ``isRunning``, ``termination``, the waits or `deinit`.
public final class SpawnedProcess: Sendable {
    /// What the child gets as one of its standard streams.
    public enum Stream: Sendable {
        /// This process's own descriptor 0, 1 or 2.
        case inherit
        /// `/dev/null`.
        case nullDevice
        /// A new pipe: this process gets the other end as ``standardInput``, ``standardOutput`` or ``standardError``.
        case pipe
        /// A file, opened here before the spawn (so that an error names the file): standard input reads it; standard
        /// output or error writes it, created if missing (mode 0644) and emptied, or with `append` appended to.
        case file(String, append: Bool = false)
        /// A descriptor of this process, which the caller keeps and closes (the child gets a copy of it).
        case descriptor(Int32)
    }

    /// How a child ended.
    public enum Termination: Sendable, Hashable, CustomStringConvertible {
        /// It called `exit` with this status (0–255).
        case exited(Int32)
        /// This signal ended it (a Swift trap is SIGILL or SIGTRAP).
        case signaled(Int32)

        /// The exit status, or the signal's number when a signal ended it (what Foundation's `terminationStatus`
        /// says).
        public var status: Int32 {
            switch self {
            case .exited(let status), .signaled(let status): status
            }
        }

        /// The signal that ended it, or `nil` when it exited.
        public var signal: Int32? {
            if case .signaled(let signal) = self { signal } else { nil }
        }

        public var description: String {
            switch self {
            case .exited(let status): "exit \(status)"
            case .signaled(let signal): "signal \(signal)"
            }
        }
    }

    /// The child's process id.
    public let pid: Int32
    /// The program's path, as given.
    public let executable: String
    /// With ``Stream/pipe`` as standard input: the pipe's writing end (close it to give the child end of file).
    public let standardInput: FileHandle?
    /// With ``Stream/pipe`` as standard output: the pipe's reading end.
    public let standardOutput: FileHandle?
    /// With ``Stream/pipe`` as standard error: the pipe's reading end.
    public let standardError: FileHandle?

    /// How the child ended, once reaped.
    private let ending = Mutex<Termination?>(nil)

    /// Starts `executable` (a path; `PATH` is not searched) with `arguments` (`argv[0]` is `executable`).
    ///
    /// - Parameters:
    ///   - environment: the child's whole environment; `nil` passes this process's own.
    ///   - currentDirectory: the directory the child starts in; `nil` keeps this process's.
    ///   - newProcessGroup: the child leads a process group of its own (`setpgid(0, 0)`), out of reach of signals
    ///     sent to this process's group (a terminal's Ctrl-C).
    /// - Throws: ``ProcessError``, naming the executable (or the file or directory at fault) and the system's reason.
    public convenience init(
        _ executable: String,
        _ arguments: [String] = [],
        environment: [String: String]? = nil,
        currentDirectory: String? = nil,
        standardInput: Stream = .inherit,
        standardOutput: Stream = .inherit,
        standardError: Stream = .inherit,
        newProcessGroup: Bool = false
    ) throws {
        try self.init(
            executable,
            rawArguments: arguments.map { Array($0.utf8) },
            environment: environment,
            currentDirectory: currentDirectory,
            standardInput: standardInput,
            standardOutput: standardOutput,
            standardError: standardError,
            newProcessGroup: newProcessGroup
        )
    }

    /// As ``init(_:_:environment:currentDirectory:standardInput:standardOutput:standardError:newProcessGroup:)``,
    /// with arguments given as bytes, which need not be UTF-8 (they must not hold a NUL byte).
    public init(
        _ executable: String,
        rawArguments: [[UInt8]],
        environment: [String: String]? = nil,
        currentDirectory: String? = nil,
        standardInput: Stream = .inherit,
        standardOutput: Stream = .inherit,
        standardError: Stream = .inherit,
        newProcessGroup: Bool = false
    ) throws {
        // With a current directory, the child resolves a relative path after its chdir; Foundation's `Process`
        // resolved it against this process's directory, and so does this.
        let path = executable.hasPrefix("/") ? executable : FileManager.default.currentDirectoryPath + "/" + executable
        self.executable = executable
        var ends = try Ends(
            [standardInput, standardOutput, standardError],
            executable: executable
        )
        defer { ends.closeChildSide() }
        self.standardInput = ends.parent[0]
        self.standardOutput = ends.parent[1]
        self.standardError = ends.parent[2]
        pid = try Self.spawn(
            path,
            executable: executable,
            arguments: [Array(executable.utf8)] + rawArguments,
            environment: environment,
            currentDirectory: currentDirectory,
            stdio: ends.child,
            newProcessGroup: newProcessGroup
        )
    }

    /// A child still running is killed (SIGKILL) and reaped; one that exited is reaped.
    deinit {
        ending.withLock { ended in
            guard ended == nil else { return }
            if Self.reap(pid, blocking: false) == nil {
                kill(pid, SIGKILL)
                _ = Self.reap(pid, blocking: true)
            }
        }
    }

    /// Whether the child has not ended yet (checked without blocking; an ended child is reaped).
    public var isRunning: Bool { termination == nil }

    /// How the child ended, or `nil` while it runs (checked without blocking; an ended child is reaped).
    public var termination: Termination? {
        ending.withLock { ended in
            if ended == nil { ended = Self.reap(pid, blocking: false) }
            return ended
        }
    }

    /// ``Termination/status`` once the child has ended (exit status, or the signal's number), else `nil`.
    public var terminationStatus: Int32? { termination?.status }

    /// The signal that ended the child, or `nil` while it runs or when it exited.
    public var terminationSignal: Int32? { termination?.signal }

    /// Waits for the child to end, blocking the calling thread; `EINTR` is retried.
    @available(*, noasync, message: "blocks the thread until the child ends; use waitForExit()")
    @discardableResult
    public func waitUntilExit() -> Termination {
        while true {
            if let ended = termination { return ended }
            // Waits without reaping, outside the mutex, so that others can still poll and signal meanwhile; the
            // next turn reaps under the mutex.
            var info = siginfo_t()
            if waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) != 0 && errno != EINTR && errno != ECHILD {
                usleep(10_000)
            }
        }
    }

    /// Waits for the child to end without blocking a thread of Swift's shared pool: the wait blocks a thread of its
    /// own. Not cancellable: to end the wait early, end the child (``send(_:)``).
    @discardableResult
    public func waitForExit() async -> Termination {
        if let ended = termination { return ended }
        return await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: self.waitUntilExit()) }
            thread.stackSize = 1 << 18
            thread.start()
        }
    }

    /// Sends `signal` to the child unless it has been reaped; whether it was sent. A child that ended but is not
    /// reaped yet (a zombie) still takes the signal, to no effect.
    @discardableResult
    public func send(_ signal: Int32) -> Bool {
        ending.withLock { ended in
            ended == nil && kill(pid, signal) == 0
        }
    }

    /// Reaps `pid`: its ending, or `nil` while it runs (never when `blocking`).
    private static func reap(_ pid: pid_t, blocking: Bool) -> Termination? {
        var status: Int32 = 0
        while true {
            let reaped = waitpid(pid, &status, blocking ? 0 : WNOHANG)
            if reaped == pid { break }
            if reaped == 0 { return nil }
            if errno == EINTR { continue }
            // ECHILD: reaped elsewhere (SIGCHLD set to SIG_IGN, or a waitpid(-1) in this process): gone, its status
            // lost.
            return .exited(-1)
        }
        let low = status & 0x7f
        return low == 0 ? .exited((status >> 8) & 0xff) : .signaled(low)
    }
}

extension SpawnedProcess {
    /// The descriptors of the three standard streams while a child is being started.
    private struct Ends {
        /// The parent's ends of pipes.
        var parent: [FileHandle?] = [nil, nil, nil]
        /// What the child gets as 0, 1 and 2 (`nil`: this process's own).
        var child: [Int32?] = [nil, nil, nil]
        /// Descriptors opened here for the child, closed here once it has its copies.
        var opened: [Int32] = []

        init(_ streams: [Stream], executable: String) throws {
            do {
                for (target, stream) in streams.enumerated() {
                    try add(stream, as: target, executable: executable)
                }
            } catch {
                closeChildSide()
                throw error
            }
        }

        private mutating func add(_ stream: Stream, as target: Int, executable: String) throws {
            let name = ["standard input", "standard output", "standard error"][target]
            switch stream {
            case .inherit:
                return
            case .descriptor(let fd):
                child[target] = fd
            case .nullDevice:
                child[target] = try open("/dev/null", target == 0 ? O_RDONLY : O_WRONLY, name, executable)
            case .file(let path, let append):
                let flags = target == 0 ? O_RDONLY : O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC)
                child[target] = try open(path, flags, name, executable)
            case .pipe:
                var fds: [Int32] = [-1, -1]
                guard coop_pipe_cloexec(&fds) == 0 else {
                    let code = errno
                    throw ProcessError(.cannotSpawn, "cannot make a pipe for the \(name) of", executable, errno: code)
                }
                // The child reads its standard input and writes its outputs.
                let (theirs, ours) = target == 0 ? (fds[0], fds[1]) : (fds[1], fds[0])
                opened.append(theirs)
                parent[target] = FileHandle(fileDescriptor: ours, closeOnDealloc: true)
                child[target] = try aboveStandardStreams(theirs, name, executable)
            }
        }

        /// Opens `path` close-on-exec, at 3 or above.
        private mutating func open(
            _ path: String,
            _ flags: Int32,
            _ name: String,
            _ executable: String
        ) throws -> Int32 {
            let fd = openFile(path, flags | O_CLOEXEC)
            guard fd >= 0 else {
                let code = errno
                throw ProcessError(
                    .cannotOpen,
                    "cannot open \(path) as the \(name) of",
                    executable,
                    errno: code
                )
            }
            opened.append(fd)
            return try aboveStandardStreams(fd, name, executable)
        }

        /// `fd`, or a copy of it at 3 or above when it is 0, 1 or 2 (possible only when this process has closed its
        /// own): the child's `dup2` onto one standard stream must not overwrite another's source.
        private mutating func aboveStandardStreams(_ fd: Int32, _ name: String, _ executable: String) throws -> Int32 {
            guard fd <= 2 else { return fd }
            let copy = fcntl(fd, F_DUPFD_CLOEXEC, 3)
            guard copy >= 0 else {
                let code = errno
                throw ProcessError(.cannotSpawn, "cannot move a descriptor for the \(name) of", executable, errno: code)
            }
            opened.append(copy)
            return copy
        }

        /// Closes what was opened here for the child (it has its copies, or was never started).
        mutating func closeChildSide() {
            for fd in opened { _ = close(fd) }
            opened = []
        }
    }

    private static func spawn(
        _ path: String,
        executable: String,
        arguments: [[UInt8]],
        environment: [String: String]?,
        currentDirectory: String?,
        stdio: [Int32?],
        newProcessGroup: Bool
    ) throws -> pid_t {
        func check(_ code: Int32, _ what: String) throws {
            guard code == 0 else { throw ProcessError(.cannotSpawn, "\(what) failed for", executable, errno: code) }
        }
        #if canImport(Glibc)
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        #else
        var actions: posix_spawn_file_actions_t?
        var attributes: posix_spawnattr_t?
        #endif
        try check(posix_spawn_file_actions_init(&actions), "posix_spawn_file_actions_init")
        defer { posix_spawn_file_actions_destroy(&actions) }
        try check(posix_spawnattr_init(&attributes), "posix_spawnattr_init")
        defer { posix_spawnattr_destroy(&attributes) }

        for (target, fd) in stdio.enumerated() {
            guard let fd else { continue }
            try check(posix_spawn_file_actions_adddup2(&actions, fd, Int32(target)), "posix_spawn_file_actions_adddup2")
        }
        if let currentDirectory {
            try check(coop_spawn_file_actions_addchdir(&actions, currentDirectory), "posix_spawn_file_actions_addchdir")
        }
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        #if canImport(Glibc)
        try check(coop_spawn_file_actions_addclosefrom(&actions, 3), "posix_spawn_file_actions_addclosefrom_np")
        #else
        flags |= Int32(POSIX_SPAWN_CLOEXEC_DEFAULT)
        #endif
        if newProcessGroup {
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
            try check(posix_spawnattr_setpgroup(&attributes, 0), "posix_spawnattr_setpgroup")
        }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        try check(posix_spawnattr_setsigmask(&attributes, &noSignals), "posix_spawnattr_setsigmask")
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        try check(posix_spawnattr_setsigdefault(&attributes, &allSignals), "posix_spawnattr_setsigdefault")
        try check(posix_spawnattr_setflags(&attributes, Int16(flags)), "posix_spawnattr_setflags")

        let argv = CStrings(arguments)
        defer { argv.free() }
        let envp = environment.map { CStrings($0.map { Array("\($0.key)=\($0.value)".utf8) }) }
        defer { envp?.free() }

        var pid: pid_t = 0
        let code = posix_spawn(&pid, path, &actions, &attributes, argv.pointers, envp?.pointers ?? environ)
        guard code == 0 else { throw ProcessError.spawnFailed(executable, currentDirectory: currentDirectory, code) }
        return pid
    }

    /// A NULL-terminated array of C strings, freed with ``free()``.
    private struct CStrings {
        let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
        let count: Int

        init(_ strings: [[UInt8]]) {
            count = strings.count
            pointers = .allocate(capacity: strings.count + 1)
            for (index, bytes) in strings.enumerated() {
                let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
                for (offset, byte) in bytes.enumerated() { copy[offset] = CChar(bitPattern: byte) }
                copy[bytes.count] = 0
                pointers[index] = copy
            }
            pointers[strings.count] = nil
        }

        func free() {
            for index in 0..<count { pointers[index]?.deallocate() }
            pointers.deallocate()
        }
    }
}

/// `open(2)` with mode 0644, named apart from ``SpawnedProcess/Ends``'s `open`.
private func openFile(_ path: String, _ flags: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.open(path, flags, 0o644)
    #else
    Darwin.open(path, flags, 0o644)
    #endif
}
