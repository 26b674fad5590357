#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Thin checked wrappers over the POSIX calls the log uses.
///
/// Stateless; callable from any thread. Each wrapper retries `EINTR`, reads `errno` on the failing thread straight
/// away and throws a `LogError` (code `.io`) naming the call, the file and, where it applies, the byte offset.
/// File descriptors are plain `Int32`s owned by the caller.
package enum Syscall {
    package static func openFile(_ path: String, _ flags: Int32, mode: Int = 0o644) throws(LogError) -> Int32 {
        while true {
            let fd = open(path, flags | O_CLOEXEC, mode_t(mode))
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw .system("open", path: path)
        }
    }

    package static func closeFile(_ fd: Int32) {
        // Linux closes the descriptor even when close reports EINTR; never retry.
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
            if n > 0 {
                done += n
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                throw .system("pwrite", path: path, offset: position, errno: n == 0 ? EIO : errno)
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
            if n > 0 {
                done += n
            } else if n == 0 {
                break
            } else if errno != EINTR {
                throw .system("pread", path: path, offset: position)
            }
        }
        return done
    }

    package static func dataSync(_ fd: Int32, path: String) throws(LogError) {
        while fdatasync(fd) != 0 {
            if errno != EINTR { throw .system("fdatasync", path: path) }
        }
    }

    package static func fullSync(_ fd: Int32, path: String) throws(LogError) {
        while fsync(fd) != 0 {
            if errno != EINTR { throw .system("fsync", path: path) }
        }
    }

    package static func truncate(_ fd: Int32, to length: UInt64, path: String) throws(LogError) {
        while ftruncate(fd, off_t(length)) != 0 {
            if errno != EINTR { throw .system("ftruncate", path: path, offset: length) }
        }
    }

    package static func fileSize(_ fd: Int32, path: String) throws(LogError) -> UInt64 {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .system("fstat", path: path) }
        return UInt64(info.st_size)
    }

    /// Whether `path` exists and is a directory; throws for errors other than "does not exist".
    package static func isDirectory(_ path: String) throws(LogError) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0 else {
            if errno == ENOENT { return false }
            throw .system("stat", path: path)
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw LogError(code: .invalidArgument, message: "\(path) exists but is not a directory", path: path)
        }
        return true
    }

    /// Creates the directory `path` (its parent must exist) and makes the new entry durable.
    package static func makeDirectory(_ path: String) throws(LogError) {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw .system("mkdir", path: path) }
        try syncDirectory(parent(of: path))
    }

    /// Fsyncs a directory, so that entries created or removed in it survive a crash.
    package static func syncDirectory(_ path: String) throws(LogError) {
        let fd = try openFile(path, O_RDONLY | O_DIRECTORY)
        defer { closeFile(fd) }
        try fullSync(fd, path: path)
    }

    /// Renames `from` to `to` (replacing `to` atomically); sync the directory afterwards to make it durable.
    package static func renameFile(_ from: String, to: String) throws(LogError) {
        guard rename(from, to) == 0 else { throw .system("rename", path: to) }
    }

    /// The names in directory `path`, without "." and "..".
    package static func listDirectory(_ path: String) throws(LogError) -> [String] {
        guard let dir = opendir(path) else { throw .system("opendir", path: path) }
        defer { closedir(dir) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw .system("readdir", path: path) }
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

    package static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
