#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension SegmentedLog {
    /// Opens the log in `directory` (its segment files are in `directory/log/`), recovering it first.
    ///
    /// Blocks on file I/O; call it from a context where that is fine (it reads and checks every record). Safe to call
    /// from any thread. Creates the directories and the first segment if the log is new (and
    /// `options.createIfMissing`). Recovery cuts off a torn last record at the end of the newest segment and says
    /// so in ``recoveryReport``; any other damage throws ``LogError/Code/corrupt`` naming the file and byte offset,
    /// and changes nothing. Throws ``LogError/Code/locked`` if the log is already open, in this process or another.
    public static func open(directory: String, options: Options = Options()) throws -> SegmentedLog {
        guard options.segmentSize >= 64 else {
            throw LogError(
                code: .invalidArgument,
                message: "segmentSize is \(options.segmentSize) bytes; it must be at least 64"
            )
        }
        var directory = directory
        while directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
        let logDirectory = (directory == "/" ? "" : directory) + "/log"
        try prepareDirectory(directory, create: options.createIfMissing)
        try prepareDirectory(logDirectory, create: options.createIfMissing)
        let lockFD = try lock(logDirectory)
        let recovered: Recovery.Result
        do {
            recovered = try Recovery.run(logDirectory: logDirectory)
        } catch {
            Syscall.closeFile(lockFD)
            throw error
        }
        let last = recovered.segments[recovered.segments.count - 1]
        let writer = SegmentWriter(
            logDirectory: logDirectory,
            lockFD: lockFD,
            fd: recovered.fd,
            segment: last.number,
            size: recovered.size,
            firstIndex: last.firstIndex,
            recordsInSegment: last.recordCount,
            options: options
        )
        return SegmentedLog(
            directory: directory,
            logDirectory: logDirectory,
            options: options,
            report: recovered.report,
            segments: recovered.segments,
            writer: writer
        )
    }

    private static func prepareDirectory(_ path: String, create: Bool) throws(LogError) {
        if try Syscall.isDirectory(path) { return }
        guard create else {
            throw LogError(
                code: .invalidArgument,
                message: "\(path) does not exist (and createIfMissing is off)",
                path: path
            )
        }
        try Syscall.makeDirectory(path)
    }

    /// Takes the exclusive lock on `logDirectory/LOCK`; returns the descriptor that holds it.
    private static func lock(_ logDirectory: String) throws(LogError) -> Int32 {
        let path = logDirectory + "/LOCK"
        let fd = try Syscall.openFile(path, O_RDWR | O_CREAT)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            Syscall.closeFile(fd)
            if code == EWOULDBLOCK {
                throw LogError(
                    code: .locked,
                    message: "the log at \(logDirectory) is already open (\(path) is locked by this or another "
                        + "process); close it there first",
                    path: path
                )
            }
            throw .system("flock", path: path, errno: code)
        }
        return fd
    }
}
