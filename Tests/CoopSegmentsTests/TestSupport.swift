import CoopSegments
import CoopTestKit
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The test kit's private temporary directory (mkdtemp, removed when released or by `remove()`).
typealias TemporaryDirectory = CoopTestKit.TemporaryDirectory

extension CoopTestKit.TemporaryDirectory {
    /// The `log/` folder the log keeps its segments in.
    var logPath: String { path + "/log" }

    func segmentPath(_ number: UInt32) -> String {
        logPath + "/" + segmentName(number)
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

/// The seeded generator of the test kit.
typealias SeededGenerator = CoopTestKit.SeededRandom

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
