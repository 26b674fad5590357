#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory mapping of the first `count` bytes of a file, unmapped when the value goes away.
///
/// Not copyable and not shared: one owner on one thread at a time. The file descriptor is closed right after
/// mapping; the mapping stays valid. The log only maps bytes it has written and never truncates a file while it is
/// open (the log lock keeps other processes out), so reading the mapping cannot fault.
struct MappedFile: ~Copyable {
    /// The mapped bytes (empty for `count == 0`).
    let bytes: UnsafeRawBufferPointer
    private let base: UnsafeMutableRawPointer?

    /// Maps the first `count` bytes of the file at `path` (the file must be at least that long).
    init(path: String, count: Int) throws(LogError) {
        guard count > 0 else {
            self.base = nil
            self.bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        let fd = try Syscall.openFile(path, O_RDONLY)
        defer { Syscall.closeFile(fd) }
        // Mapping past the end of the file would fault (SIGBUS) on access; refuse instead.
        let size = try Syscall.fileSize(fd, path: path)
        guard size >= UInt64(count) else {
            throw .corrupt(
                "the file is \(size) bytes but the log expects at least \(count): it was cut short while open",
                path: path,
                offset: size,
                atOpen: false
            )
        }
        let pointer = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let pointer, pointer != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw .system("mmap", path: path)
        }
        _ = madvise(pointer, count, MADV_SEQUENTIAL)
        self.base = pointer
        self.bytes = UnsafeRawBufferPointer(start: pointer, count: count)
    }

    deinit {
        if let base {
            munmap(base, bytes.count)
        }
    }
}
