import Foundation
import Glibc

/// Monotonic time in seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Runs `body` and returns its result and the wall time it took, in seconds.
func timed<T>(_ body: () throws -> T) rethrows -> (T, Double) {
    let start = now()
    let result = try body()
    return (result, now() - start)
}

/// Async variant of ``timed(_:)``.
func timedAsync<T>(_ body: () async throws -> T) async rethrows -> (T, Double) {
    let start = now()
    let result = try await body()
    return (result, now() - start)
}

/// The `p` quantile (0…1) of `sorted` (ascending), nearest rank.
func quantile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

/// Resident memory of this process from /proc/self/status, in MB (10^6 bytes).
struct Memory: CustomStringConvertible {
    /// Resident set size now.
    var rss: Double
    /// High-water mark of the resident set size.
    var hwm: Double

    static func current() -> Memory {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else {
            return Memory(rss: .nan, hwm: .nan)
        }
        func field(_ name: String) -> Double {
            for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
                let digits = line.dropFirst(name.count + 1).filter(\.isNumber)
                return (Double(String(digits)) ?? .nan) * 1024 / 1e6
            }
            return .nan
        }
        return Memory(rss: field("VmRSS"), hwm: field("VmHWM"))
    }

    var description: String { "VmRSS \(megabytes(rss)), VmHWM \(megabytes(hwm))" }
}

/// The 1-, 5- and 15-minute load averages, as /proc/loadavg gives them.
func loadAverage() -> String {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}

/// The file system type holding `path`: the longest matching mount point in /proc/mounts.
func fileSystemType(_ path: String) -> String {
    guard let text = try? String(contentsOfFile: "/proc/mounts", encoding: .utf8) else { return "?" }
    var best: (point: String, type: String)?
    for line in text.split(separator: "\n") {
        let fields = line.split(separator: " ")
        guard fields.count >= 3 else { continue }
        let point = String(fields[1])
        let inside = point == "/" || path == point || path.hasPrefix(point + "/")
        if inside && point.count >= (best?.point.count ?? -1) {
            best = (point, "\(fields[2]) on \(fields[0]), mounted at \(point)")
        }
    }
    return best?.type ?? "?"
}

/// The CPU model, from /proc/cpuinfo.
func cpuModel() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "?" }
    for line in text.split(separator: "\n") where line.hasPrefix("model name") {
        return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "?"
    }
    return "?"
}

// MARK: Formatting

/// A rate with thousands separators, e.g. "12,345/s".
func rate(_ value: Double) -> String {
    guard value.isFinite else { return "n/a" }
    return grouped(Int(value.rounded())) + "/s"
}

/// An integer with thousands separators.
func grouped(_ value: Int) -> String {
    let digits = String(value.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
        out.append(c)
    }
    return (value < 0 ? "-" : "") + out
}

/// Seconds, e.g. "1.234 s".
func seconds(_ value: Double) -> String {
    value.isFinite ? String(format: "%.3f s", value) : "n/a"
}

/// Milliseconds, e.g. "0.812 ms".
func millis(_ value: Double) -> String {
    value.isFinite ? String(format: "%.3f ms", value * 1000) : "n/a"
}

/// Megabytes (10^6 bytes), e.g. "42.1 MB".
func megabytes(_ value: Double) -> String {
    value.isFinite ? String(format: "%.1f MB", value) : "n/a"
}

/// A ratio, e.g. "0.97×".
func times(_ value: Double) -> String {
    guard value.isFinite else { return "n/a" }
    return value >= 10 ? String(format: "%.1f×", value) : String(format: "%.2f×", value)
}

/// Writes a line to standard error at once (progress; keeps standard output for the results).
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Prints and flushes standard output, so results interleave sensibly with progress on standard error.
func say(_ text: String = "") {
    print(text)
    fflush(nil)
}

/// CPU time this thread has used, in seconds.
func threadCPUTime() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// CPU time (user + system) this process has used, in seconds.
func cpuTime() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
