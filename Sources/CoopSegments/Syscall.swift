#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin checked wrappers over the POSIX calls the log (and the store above it) uses: the one place where file
/// system calls are made.
///
/// **Threading.** Stateless; callable from any thread. Each wrapper retries `EINTR`, reads `errno` on the failing
/// thread straight after the failing call (before any other call, `close` included) and throws a `LogError` (code
/// `.io`) naming the call, the file and, where it applies, the byte offset. File descriptors are plain `Int32`s
/// owned by the caller; every descriptor is opened with `O_CLOEXEC`.
package enum Syscall {
    /// Opens `path` with `flags` (`O_CLOEXEC` is always added).
    package static func openFile(_ path: String, _ flags: Int32, mode: UInt32 = 0o644) throws(LogError) -> Int32 {
        while true {
            let (fd, code) = path.withCString { name in
                let fd = open(name, flags | O_CLOEXEC, mode_t(mode))
                return (fd, fd < 0 ? errno : 0)
            }
            if fd >= 0 { return fd }
            if code == EINTR { continue }
            throw .system("open", path: path, errno: code)
        }
    }

    /// Closes `fd`, ignoring errors (never retried: Linux closes the descriptor even when `close` reports EINTR).
    package static func closeFile(_ fd: Int32) {
        _ = close(fd)
    }

    /// Writes all of `bytes` at `offset`, looping over short writes.
    package static func pwriteAll(
        _ fd: Int32,
        _ bytes: UnsafeRawBufferPointer,
        at offset: UInt64,
        path: String
    ) throws(LogError) {
        var done = 0
        while done < bytes.count {
            let position = offset + UInt64(done)
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(position))
            let code = n < 0 ? errno : EIO
            if n > 0 {
                done += n
            } else if n < 0 && code == EINTR {
                continue
            } else {
                throw .system("pwrite", path: path, offset: position, errno: code)
            }
        }
    }

    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read (fewer only at end of file).
    package static func preadFully(
        _ fd: Int32,
        into buffer: UnsafeMutableRawBufferPointer,
        at offset: UInt64,
        path: String
    ) throws(LogError) -> Int {
        var done = 0
        while done < buffer.count {
            let position = offset + UInt64(done)
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(position))
            let code = n < 0 ? errno : 0
            if n > 0 {
                done += n
            } else if n == 0 {
                break
            } else if code != EINTR {
                throw .system("pread", path: path, offset: position, errno: code)
            }
        }
        return done
    }

    /// Makes the file's data (and the metadata needed to read it, such as its size) durable: `fdatasync` on Linux,
    /// `fcntl(F_FULLFSYNC)` on Darwin (where plain `fsync` does not flush the drive's cache).
    package static func dataSync(_ fd: Int32, path: String) throws(LogError) {
        #if canImport(Darwin)
        try fullSync(fd, path: path)
        #else
        while true {
            if fdatasync(fd) == 0 { return }
            let code = errno
            if code != EINTR { throw .system("fdatasync", path: path, errno: code) }
        }
        #endif
    }

    /// Makes the file (data and metadata) durable: `fsync` on Linux, `fcntl(F_FULLFSYNC)` on Darwin, falling back
    /// to `fsync` where the file system does not support it.
    package static func fullSync(_ fd: Int32, path: String) throws(LogError) {
        #if canImport(Darwin)
        while true {
            if fcntl(fd, F_FULLFSYNC) != -1 { return }
            let code = errno
            if code == EINTR { continue }
            if code == ENOTSUP || code == EINVAL || code == ENOTTY { break }
            throw .system("fcntl(F_FULLFSYNC)", path: path, errno: code)
        }
        #endif
        while true {
            if fsync(fd) == 0 { return }
            let code = errno
            if code != EINTR { throw .system("fsync", path: path, errno: code) }
        }
    }

    package static func truncate(_ fd: Int32, to length: UInt64, path: String) throws(LogError) {
        while true {
            if ftruncate(fd, off_t(length)) == 0 { return }
            let code = errno
            if code != EINTR { throw .system("ftruncate", path: path, offset: length, errno: code) }
        }
    }

    package static func fileSize(_ fd: Int32, path: String) throws(LogError) -> UInt64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            throw .system("fstat", path: path, errno: code)
        }
        return UInt64(info.st_size)
    }

    /// Whether `path` exists and is a directory; throws for errors other than "does not exist".
    package static func isDirectory(_ path: String) throws(LogError) -> Bool {
        var info = stat()
        let (result, code) = path.withCString { name in
            let result = stat(name, &info)
            return (result, result != 0 ? errno : 0)
        }
        guard result == 0 else {
            if code == ENOENT { return false }
            throw .system("stat", path: path, errno: code)
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw LogError(code: .invalidArgument, message: "\(path) exists but is not a directory", path: path)
        }
        return true
    }

    /// Creates the directory `path` (its parent must exist) and makes the new entry durable.
    package static func makeDirectory(_ path: String) throws(LogError) {
        let (result, code) = path.withCString { name in
            let result = mkdir(name, 0o755)
            return (result, result != 0 ? errno : 0)
        }
        guard result == 0 || code == EEXIST else { throw .system("mkdir", path: path, errno: code) }
        try syncDirectory(parent(of: path))
    }

    /// Fsyncs a directory, so that entries created, renamed or removed in it survive a crash.
    package static func syncDirectory(_ path: String) throws(LogError) {
        let fd = try openFile(path, O_RDONLY | O_DIRECTORY)
        defer { closeFile(fd) }
        try fullSync(fd, path: path)
    }

    /// Renames `from` to `to` (replacing `to` atomically if it exists). Call ``syncDirectory(_:)`` afterwards to
    /// make it durable.
    package static func rename(_ from: String, to: String) throws(LogError) {
        let (result, code) = from.withCString { source in
            to.withCString { target in
                #if canImport(Glibc)
                let result = Glibc.rename(source, target)
                #else
                let result = Darwin.rename(source, target)
                #endif
                return (result, result != 0 ? errno : 0)
            }
        }
        guard result == 0 else {
            var error = LogError.system("rename", path: from, errno: code)
            error.message = "rename of \(from) to \(to) failed: \(String(cString: strerror(code)))"
            throw error
        }
    }

    /// Removes the file `path`. Call ``syncDirectory(_:)`` afterwards to make it durable.
    package static func unlink(_ path: String) throws(LogError) {
        let (result, code) = path.withCString { name in
            #if canImport(Glibc)
            let result = Glibc.unlink(name)
            #else
            let result = Darwin.unlink(name)
            #endif
            return (result, result != 0 ? errno : 0)
        }
        guard result == 0 else { throw .system("unlink", path: path, errno: code) }
    }

    /// The names in directory `path`, without "." and "..".
    package static func listDirectory(_ path: String) throws(LogError) -> [String] {
        let (directory, code) = path.withCString { name in
            let directory = opendir(name)
            return (directory, directory == nil ? errno : 0)
        }
        guard let directory else { throw .system("opendir", path: path, errno: code) }
        defer { closedir(directory) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(directory) else {
                let code = errno
                if code != 0 { throw .system("readdir", path: path, errno: code) }
                return names
            }
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." {
                names.append(name)
            }
        }
    }

    /// Opens (creating it if needed) the lock file `path` and takes an exclusive `flock` on it; returns the
    /// descriptor that holds the lock (closing it releases the lock). Throws ``LogError/Code/locked`` when another
    /// descriptor, in this or another process, still holds it after ``lockPatience``.
    ///
    /// Why a little patience: a `flock` belongs to the open file, which every copy of the descriptor keeps open. A
    /// child process this process spawns gets a copy of every descriptor, `O_CLOEXEC` ones included, for the moment
    /// between its creation and its `exec`; a log closed and opened again in that moment (a store reopened while
    /// another thread starts a child) would be refused for a lock nobody really holds. A log that is really open
    /// elsewhere is still refused, after this short wait.
    package static func lockFile(
        _ path: String,
        logDirectory: String,
        patience: Duration = lockPatience
    ) throws(LogError) -> Int32 {
        let fd = try openFile(path, O_RDWR | O_CREAT)
        let deadline = ContinuousClock.now + patience
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let code = errno
            if code == EINTR { continue }
            if code == EWOULDBLOCK && ContinuousClock.now < deadline {
                usleep(2_000)
                continue
            }
            closeFile(fd)
            if code == EWOULDBLOCK { throw .locked(logDirectory: logDirectory, path: path) }
            throw .system("flock", path: path, errno: code)
        }
        return fd
    }

    /// How long ``lockFile(_:logDirectory:patience:)`` waits for a lock held by a transient copy of a descriptor.
    package static let lockPatience: Duration = .milliseconds(250)

    package static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
