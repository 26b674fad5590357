#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The file operations the segmented log makes: every open, read, write, sync, truncate, listing, rename and
/// removal of the writer, of recovery and of the readers goes through one value of this type.
///
/// **Threading.** Implementations must be safe to call from any thread at the same time (the writer queue, readers
/// on their callers' threads and `open` may run at once). Descriptors are `Int32`s owned by the caller, which
/// closes each one exactly once. Every failure is a ``LogError``: `.io` with a ``LogError/SystemError`` cause
/// naming the call and `errno`, or `.locked` from ``lockFile(_:logDirectory:)``.
///
/// ``RealFileSystem`` (the default) makes the system calls through `Syscall`. Tests put a simulated disk here (see
/// `SegmentedLog.Options.fileSystem`) that can lose whatever was not synced, the way a power cut does.
package protocol SegmentFileSystem: Sendable {
    /// Opens `path` for reading, or for reading and writing; `create`: create it if missing; `exclusive`: fail
    /// if it exists; `truncate`: empty it.
    func openFile(_ path: String, _ mode: FileOpenMode) throws(LogError) -> Int32
    func closeFile(_ fd: Int32)
    /// Writes all of `bytes` at `offset`.
    func pwriteAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, at offset: UInt64, path: String) throws(LogError)
    /// Reads up to `buffer.count` bytes at `offset`; fewer only at the end of the file.
    func preadFully(
        _ fd: Int32,
        into buffer: UnsafeMutableRawBufferPointer,
        at offset: UInt64,
        path: String
    ) throws(LogError) -> Int
    /// Makes the file's data and size durable (`fdatasync`; `F_FULLFSYNC` on Darwin).
    func dataSync(_ fd: Int32, path: String) throws(LogError)
    /// Makes the file's data and metadata durable (`fsync`; `F_FULLFSYNC` on Darwin).
    func fullSync(_ fd: Int32, path: String) throws(LogError)
    func truncate(_ fd: Int32, to length: UInt64, path: String) throws(LogError)
    func fileSize(_ fd: Int32, path: String) throws(LogError) -> UInt64
    /// Whether `path` is a directory (false if it does not exist; `.invalidArgument` if it is something else).
    func isDirectory(_ path: String) throws(LogError) -> Bool
    /// Creates the directory `path` (fine if it exists) and syncs its parent directory.
    func makeDirectory(_ path: String) throws(LogError)
    /// Makes the entries of directory `path` durable (files created, renamed or removed in it).
    func syncDirectory(_ path: String) throws(LogError)
    /// The names in directory `path`, without "." and "..", in no particular order.
    func listDirectory(_ path: String) throws(LogError) -> [String]
    /// Renames `from` to `to`, replacing `to`.
    func rename(_ from: String, to: String) throws(LogError)
    /// Removes the file `path`.
    func unlink(_ path: String) throws(LogError)
    /// Creates the lock file `path` if needed and takes its exclusive lock, or throws `.locked`; closing the
    /// returned descriptor releases it.
    func lockFile(_ path: String, logDirectory: String) throws(LogError) -> Int32
}

/// How ``SegmentFileSystem/openFile(_:_:)`` opens a file. A plain value.
package struct FileOpenMode: Hashable, Sendable {
    package var write: Bool
    package var create: Bool
    package var exclusive: Bool
    package var truncate: Bool

    package init(write: Bool, create: Bool, exclusive: Bool, truncate: Bool) {
        self.write = write
        self.create = create
        self.exclusive = exclusive
        self.truncate = truncate
    }

    /// Read only; the file must exist.
    package static let read = FileOpenMode(write: false, create: false, exclusive: false, truncate: false)
    /// Read and write; the file must exist.
    package static let readWrite = FileOpenMode(write: true, create: false, exclusive: false, truncate: false)
    /// Read and write, created if missing (`O_CREAT`).
    package static let create = FileOpenMode(write: true, create: true, exclusive: false, truncate: false)
    /// Read and write a new file; fails if it exists (`O_CREAT | O_EXCL`).
    package static let createNew = FileOpenMode(write: true, create: true, exclusive: true, truncate: false)
    /// Read and write, created or emptied (`O_CREAT | O_TRUNC`).
    package static let createOrTruncate = FileOpenMode(write: true, create: true, exclusive: false, truncate: true)

    var flags: Int32 {
        var flags = write ? O_RDWR : O_RDONLY
        if create { flags |= O_CREAT }
        if exclusive { flags |= O_EXCL }
        if truncate { flags |= O_TRUNC }
        return flags
    }
}

/// The real file system, through the checked system calls of `Syscall`. A stateless value; thread-safe.
package struct RealFileSystem: SegmentFileSystem {
    package init() {}

    package func openFile(_ path: String, _ mode: FileOpenMode) throws(LogError) -> Int32 {
        try Syscall.openFile(path, mode.flags)
    }

    package func closeFile(_ fd: Int32) {
        Syscall.closeFile(fd)
    }

    package func pwriteAll(
        _ fd: Int32,
        _ bytes: UnsafeRawBufferPointer,
        at offset: UInt64,
        path: String
    ) throws(LogError) {
        try Syscall.pwriteAll(fd, bytes, at: offset, path: path)
    }

    package func preadFully(
        _ fd: Int32,
        into buffer: UnsafeMutableRawBufferPointer,
        at offset: UInt64,
        path: String
    ) throws(LogError) -> Int {
        try Syscall.preadFully(fd, into: buffer, at: offset, path: path)
    }

    package func dataSync(_ fd: Int32, path: String) throws(LogError) {
        try Syscall.dataSync(fd, path: path)
    }

    package func fullSync(_ fd: Int32, path: String) throws(LogError) {
        try Syscall.fullSync(fd, path: path)
    }

    package func truncate(_ fd: Int32, to length: UInt64, path: String) throws(LogError) {
        try Syscall.truncate(fd, to: length, path: path)
    }

    package func fileSize(_ fd: Int32, path: String) throws(LogError) -> UInt64 {
        try Syscall.fileSize(fd, path: path)
    }

    package func isDirectory(_ path: String) throws(LogError) -> Bool {
        try Syscall.isDirectory(path)
    }

    package func makeDirectory(_ path: String) throws(LogError) {
        try Syscall.makeDirectory(path)
    }

    package func syncDirectory(_ path: String) throws(LogError) {
        try Syscall.syncDirectory(path)
    }

    package func listDirectory(_ path: String) throws(LogError) -> [String] {
        try Syscall.listDirectory(path)
    }

    package func rename(_ from: String, to: String) throws(LogError) {
        try Syscall.rename(from, to: to)
    }

    package func unlink(_ path: String) throws(LogError) {
        try Syscall.unlink(path)
    }

    package func lockFile(_ path: String, logDirectory: String) throws(LogError) -> Int32 {
        try Syscall.lockFile(path, logDirectory: logDirectory)
    }
}
