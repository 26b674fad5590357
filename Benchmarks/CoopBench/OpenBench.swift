import CoopDevTools
import CoopLedger
import CoopLog
import CoopProcess
import Foundation
import Glibc

/// `LogStore.open` of a large log (the full replay on open) and `LedgerReplay.view`, each timed in a fresh child
/// process of coop-bench (`coop-bench open DIR`, `coop-bench replay DIR`) so that only their own memory counts.
enum OpenBench {
    struct Result {
        var records: UInt64
        /// Wall time of the open (or the replay).
        var open: Double
        /// CPU time of the child during the open (or the replay).
        var cpu: Double
        var close: Double
        var before: Memory
        var after: Memory
        /// A checkpoint file was present before opening.
        var checkpointBefore: Bool
        /// A checkpoint file was present after closing.
        var checkpointAfter: Bool
    }

    static let marker = "coop-bench-open"

    /// The child's side (`coop-bench open DIR`): prints one line of `key=value` figures.
    static func child(directory: String) async throws {
        try requireLog(directory)
        let data = try ReferenceData.load()
        let before = Memory.current()
        let checkpoint = directory + "/checkpoint"
        let checkpointBefore = FileManager.default.fileExists(atPath: checkpoint)
        let cpu0 = cpuTime()
        let (store, open) = try timed {
            try LogStore.open(
                directory: directory,
                roster: data.roster,
                catalog: data.catalog,
                identity: data.keys[0]
            )
        }
        let cpu = cpuTime() - cpu0
        let after = Memory.current()
        let records = store.recordCount
        let (_, close) = try await timedAsync { try await store.close() }
        let fields: [(String, String)] = [
            ("records", "\(records)"),
            ("open", "\(open)"),
            ("cpu", "\(cpu)"),
            ("close", "\(close)"),
            ("rss0", "\(before.rss)"),
            ("hwm0", "\(before.hwm)"),
            ("rss1", "\(after.rss)"),
            ("hwm1", "\(after.hwm)"),
            ("ckpt0", checkpointBefore ? "1" : "0"),
            ("ckpt1", FileManager.default.fileExists(atPath: checkpoint) ? "1" : "0"),
        ]
        say(marker + " " + fields.map { "\($0)=\($1)" }.joined(separator: " "))
    }

    /// The child's side of `coop-bench replay DIR`: ``LedgerReplay/view(directory:catalog:roster:limit:)``, the
    /// view kept alive while memory is read.
    static func replayChild(directory: String) throws {
        try requireLog(directory)
        let data = try ReferenceData.load()
        let before = Memory.current()
        let cpu0 = cpuTime()
        let (result, elapsed) = try timed {
            try LedgerReplay.view(directory: directory, catalog: data.catalog, roster: data.roster)
        }
        let cpu = cpuTime() - cpu0
        let after = Memory.current()
        let fields: [(String, String)] = [
            ("records", "\(result.records)"),
            ("open", "\(elapsed)"),
            ("cpu", "\(cpu)"),
            ("close", "0"),
            ("rss0", "\(before.rss)"),
            ("hwm0", "\(before.hwm)"),
            ("rss1", "\(after.rss)"),
            ("hwm1", "\(after.hwm)"),
            ("entries", "\(result.view.entryCount)"),
        ]
        say(marker + " " + fields.map { "\($0)=\($1)" }.joined(separator: " "))
    }

    /// The parent's side: runs `coop-bench MODE DIR` (`open` or `replay`) and parses its figures.
    static func measure(_ mode: String = "open", directory: String) throws -> Result {
        let process = try SpawnedProcess(try executablePath(), [mode, directory], standardOutput: .pipe)
        let text = process.communicate().stdoutText
        let ending = process.waitUntilExit()
        guard ending == .exited(0),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix(marker + " ") })
        else {
            throw BenchError("`coop-bench \(mode) \(directory)` failed (\(ending)): \(text)")
        }
        var fields: [String: String] = [:]
        for pair in line.split(separator: " ").dropFirst() {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        func number(_ key: String) -> Double { fields[key].flatMap(Double.init) ?? .nan }
        return Result(
            records: fields["records"].flatMap { UInt64($0) } ?? 0,
            open: number("open"),
            cpu: number("cpu"),
            close: number("close"),
            before: Memory(rss: number("rss0"), hwm: number("hwm0")),
            after: Memory(rss: number("rss1"), hwm: number("hwm1")),
            checkpointBefore: fields["ckpt0"] == "1",
            checkpointAfter: fields["ckpt1"] == "1"
        )
    }

    /// Refuses a directory without a log (`LogStore.open` would create one).
    static func requireLog(_ directory: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory + "/log", isDirectory: &isDirectory),
            isDirectory.boolValue
        else {
            throw BenchError("\(directory)/log is not there; give a data directory (DemoLogGenerator writes one)")
        }
    }

    /// This program's path, for re-running it as a child.
    static func executablePath() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { throw BenchError("cannot read /proc/self/exe") }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
