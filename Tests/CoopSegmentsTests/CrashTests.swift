import CoopProcess
import CoopSegments
import CoopTestKit
import Foundation
import Testing

/// Crash tests with real processes: `coop-crash-child` appends to a log in durable mode from several tasks and prints
/// each record's id once its append has returned (after the fsync); the test kills it with SIGKILL once it has read a
/// random number (1–400) of those acknowledgements from the child's output — an event, not a sleep, so a slow or
/// loaded machine changes nothing — then reopens the log and checks that every printed id is in it, that every
/// record is a whole record the child wrote (no garbage), and that no id appears twice. Up to 10 kills in a row
/// share one log directory, so each child also recovers what the previous one left behind.
///
/// By default the test kills the child 5 times (a few seconds). Set the environment variable `COOP_CRASH_KILLS` to
/// run more, e.g. `COOP_CRASH_KILLS=1000 swift test --scratch-path .build-log --filter CrashTests` (about six minutes).
/// Set `COOP_CRASH_SEED` to repeat a run's kill points (the seed is printed).
///
/// SIGKILL keeps the page cache, so these tests cannot see a missing fsync; `PowerCutTests` simulate that.
@Suite("SegmentedLog: crash with SIGKILL")
struct CrashTests {
    /// How many kills share one log directory before the test starts a fresh one.
    static let killsPerLog = 10

    /// The record `coop-crash-child` writes for `id` (keep in step with Tests/CrashChild/main.swift).
    static func expectedRecord(id: UInt64) -> [UInt8] {
        let letter = UInt8(ascii: "a") + UInt8(id % 26)
        return Array("\(id):".utf8) + [UInt8](repeating: letter, count: Int((id &* 7919) % 300))
    }

    /// The id of a record the child wrote, or nil if the bytes are not exactly such a record.
    static func id(of payload: [UInt8]) -> UInt64? {
        guard let colon = payload.firstIndex(of: UInt8(ascii: ":")),
            let id = UInt64(String(decoding: payload[..<colon], as: UTF8.self)),
            expectedRecord(id: id) == payload
        else { return nil }
        return id
    }

    @Test("every acknowledged record survives SIGKILL, and the log holds no garbage")
    func killAndRecover() async throws {
        let settings = CrashSettings(test: "CrashTests", killsVariable: "COOP_CRASH_KILLS", defaultKills: 5)
        let kills = settings.kills
        var random = SeededGenerator(seed: settings.seed)
        let child = try ChildProcess.product("coop-crash-child")
        try await withTemporaryDirectory { directory in
            var dataDirectory = ""
            var acknowledged = Set<UInt64>()
            var acknowledgedTotal = 0
            var tornTails = 0
            var recordsBefore: UInt64 = 0
            for round in 0..<kills {
                if round % Self.killsPerLog == 0 {
                    // A fresh log every few kills, so a long stress run does not grow one log without bound.
                    if !dataDirectory.isEmpty { try FileManager.default.removeItem(atPath: dataDirectory) }
                    dataDirectory = directory.path + "/data-\(round / Self.killsPerLog)"
                    acknowledgedTotal += acknowledged.count
                    acknowledged = []
                    recordsBefore = 0
                }
                let errors = directory.path + "/stderr-\(round)"
                let firstID = UInt64(round) * 10_000_000
                let killAfter = Int.random(in: 1...400, using: &random)
                let process = try SpawnedProcess(
                    child,
                    [dataDirectory, String(firstID)],
                    standardOutput: .pipe,
                    standardError: .file(errors)
                )
                // Read acknowledgements until `killAfter` of them, then kill: the child is then in the middle of
                // appending (it never stops by itself).
                var printed: [UInt8] = []
                var lineCount = 0
                let reading = process.standardOutput!
                while lineCount < killAfter {
                    let chunk = reading.availableData
                    if chunk.isEmpty { break }
                    lineCount += chunk.count(where: { $0 == UInt8(ascii: "\n") })
                    printed += chunk
                }
                let alive = process.isRunning
                process.send(SIGKILL)
                let ending = await process.waitForExit()
                printed += reading.readDataToEndOfFile()
                let childErrors = String(decoding: try readFile(errors), as: UTF8.self)
                try #require(
                    alive && ending == .signaled(SIGKILL),
                    "round \(round): the child exited by itself (\(ending)): \(childErrors)"
                )

                let lines = String(decoding: printed, as: UTF8.self).split(separator: "\n")
                let ids = lines.compactMap { UInt64($0) }
                #expect(ids.count == lines.count, "round \(round): unreadable output line")
                #expect(ids.count >= killAfter, "round \(round)")
                acknowledged.formUnion(ids)

                let log = try SegmentedLog.open(directory: dataDirectory)
                if log.recoveryReport.tornTail != nil {
                    tornTails += 1
                }
                var stored = Set<UInt64>()
                var garbage: [RecordPosition] = []
                var duplicates = 0
                try log.forEachRecord { position, payload in
                    guard let id = Self.id(of: Array(payload)) else {
                        garbage.append(position)
                        return
                    }
                    if !stored.insert(id).inserted { duplicates += 1 }
                }
                #expect(garbage.isEmpty, "round \(round): records that the child did not write at \(garbage)")
                #expect(duplicates == 0, "round \(round)")
                let missing = acknowledged.subtracting(stored)
                #expect(missing.isEmpty, "round \(round): acknowledged but lost: \(missing.sorted().prefix(20))")
                #expect(log.count >= recordsBefore, "round \(round): the log shrank")
                recordsBefore = log.count
                try await log.close()
                if !missing.isEmpty || !garbage.isEmpty { break }
            }
            acknowledgedTotal += acknowledged.count
            print("CrashTests: \(kills) kills, \(acknowledgedTotal) acknowledged records, \(tornTails) torn tails cut")
            #expect(acknowledgedTotal > 0, "the child never acknowledged a record")
        }
    }
}
