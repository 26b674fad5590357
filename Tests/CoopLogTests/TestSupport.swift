import CoopLog
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A fresh directory made with mkdtemp under FileManager's temporary directory, removed by `remove()`.
struct TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.path
        var template = Array("\(base)/cooplog-test-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw LogError(code: .io, message: "mkdtemp failed under \(base): errno \(errno)")
        }
        path = String(cString: made)
    }

    /// The `log/` folder the log keeps its segments in.
    var logPath: String { path + "/log" }

    func segmentPath(_ number: UInt32) -> String {
        logPath + "/" + segmentName(number)
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// Runs `body` with a fresh temporary directory and removes it afterwards.
func withTemporaryDirectory<R>(_ body: (TemporaryDirectory) async throws -> R) async throws -> R {
    let directory = try TemporaryDirectory()
    defer { directory.remove() }
    return try await body(directory)
}

func segmentName(_ number: UInt32) -> String {
    let digits = String(number)
    return String(repeating: "0", count: max(0, 8 - digits.count)) + digits + ".seg"
}

/// A small seeded generator (SplitMix64), so randomized tests can be repeated from their seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension RandomNumberGenerator {
    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
}

/// Options for tests that do not need real syncs.
func fastOptions(segmentSize: UInt64 = 64 << 20) -> SegmentedLog.Options {
    SegmentedLog.Options(durability: .unsafeNoSync, segmentSize: segmentSize)
}

/// Every record's payload, in order.
func allPayloads(_ log: SegmentedLog) throws -> [[UInt8]] {
    try log.records().map(\.payload)
}

/// The bytes of a file.
func readFile(_ path: String) throws -> [UInt8] {
    Array(try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// Replaces a file's bytes.
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Copies a log's segment files into a new log folder under `directory`.
func copySegments(_ segments: [String: [UInt8]], to directory: TemporaryDirectory) throws {
    try FileManager.default.createDirectory(atPath: directory.logPath, withIntermediateDirectories: true)
    for (name, bytes) in segments {
        try writeFile(directory.logPath + "/" + name, bytes)
    }
}

/// The segment files of the log in `directory`, by name.
func segmentFiles(_ directory: TemporaryDirectory) throws -> [String: [UInt8]] {
    var files: [String: [UInt8]] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: directory.logPath) where name.hasSuffix(".seg") {
        files[name] = try readFile(directory.logPath + "/" + name)
    }
    return files
}
