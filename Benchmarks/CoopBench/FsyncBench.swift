import Foundation
import Glibc

/// The raw sync rate of the disk: append 256 bytes with `pwrite` and `fdatasync` them, one after the other, as
/// the log does for one lone append (the file grows, so each sync also commits the new size).
struct FsyncResult {
    var operations: Int
    var elapsed: Double
    var p50: Double
    var p99: Double
    /// Every sync's latency, ascending, in seconds.
    var latencies: [Double] = []
    var rate: Double { Double(operations) / elapsed }
}

enum FsyncBench {
    static func run(directory: String, seconds: Double) throws -> FsyncResult {
        let path = directory + "/fsync-probe"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw BenchError("\(path): open failed: \(String(cString: strerror(errno)))") }
        defer {
            close(fd)
            unlink(path)
        }
        let block = [UInt8](repeating: 0x5A, count: 256)
        var latencies: [Double] = []
        latencies.reserveCapacity(100_000)
        var offset: off_t = 0
        let start = now()
        var last = start
        while last - start < seconds {
            let written = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, offset) }
            guard written == block.count else { throw BenchError("\(path): pwrite failed") }
            guard fdatasync(fd) == 0 else {
                throw BenchError("\(path): fdatasync failed: \(String(cString: strerror(errno)))")
            }
            offset += off_t(written)
            let t = now()
            latencies.append(t - last)
            last = t
        }
        latencies.sort()
        return FsyncResult(
            operations: latencies.count,
            elapsed: last - start,
            p50: quantile(latencies, 0.5),
            p99: quantile(latencies, 0.99),
            latencies: latencies
        )
    }
}

/// A failure of the benchmark itself (not a figure).
struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
