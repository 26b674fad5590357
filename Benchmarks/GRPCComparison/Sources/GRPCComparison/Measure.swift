import Foundation
import Glibc

// The same helpers as coop-bench's Measure.swift, so that both sides are timed and summarised alike.

/// Monotonic time in seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// CPU time (user + system) this process has used, in seconds.
func cpuTime() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Runs `body` and returns its result with the process CPU time and wall time it took, in seconds.
func measured<T>(_ body: () async throws -> T) async rethrows -> (value: T, cpu: Double, wall: Double) {
    let cpu0 = cpuTime()
    let wall0 = now()
    let value = try await body()
    return (value, cpuTime() - cpu0, now() - wall0)
}

/// The `p` quantile (0…1) of `sorted` (ascending), nearest rank.
func quantile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let rank = Int((p * Double(sorted.count)).rounded(.up)) - 1
    return sorted[min(max(rank, 0), sorted.count - 1)]
}

/// Latency samples of one kind of call, pooled over the rounds of a run, with the CPU they cost.
struct Latencies {
    /// Every sample, ascending, in seconds.
    private(set) var sorted: [Double] = []
    private var lastRound: [Double] = []
    private(set) var cpu = 0.0
    private(set) var wall = 0.0

    mutating func add(_ latencies: [Double], cpu: Double, wall: Double) {
        sorted = (sorted + latencies).sorted()
        lastRound = latencies.sorted()
        self.cpu += cpu
        self.wall += wall
    }

    var p50: Double { quantile(sorted, 0.5) }
    var p99: Double { quantile(sorted, 0.99) }
    var cpuPerCall: Double { sorted.isEmpty ? .nan : cpu / Double(sorted.count) }
    var figure: String { "p50 \(micros(p50)), p99 \(micros(p99))" }

    /// The last round's figures, for the progress lines.
    func last(_ calls: Int) -> String {
        "\(grouped(calls)) calls: p50 \(micros(quantile(lastRound, 0.5))), p99 \(micros(quantile(lastRound, 0.99)))"
    }
}

/// Microseconds, e.g. "41.2 µs".
func micros(_ value: Double) -> String {
    value.isFinite ? String(format: "%.1f µs", value * 1e6) : "n/a"
}

/// A ratio, e.g. "5.2×".
func times(_ value: Double) -> String {
    guard value.isFinite else { return "n/a" }
    return value >= 10 ? String(format: "%.1f×", value) : String(format: "%.2f×", value)
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

/// The 1-, 5- and 15-minute load averages.
func loadAverage() -> String {
    guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "?" }
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}

/// The CPU model, from /proc/cpuinfo.
func cpuModel() -> String {
    guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "?" }
    for line in text.split(separator: "\n") where line.hasPrefix("model name") {
        return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "?"
    }
    return "?"
}

/// Prints and flushes standard output.
func say(_ text: String = "") {
    print(text)
    fflush(nil)
}

/// Writes a line to standard error (progress).
func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
