import CoopLedger
import CoopLog
import CoopProcess
import CoopTestKit
import CoopWire
import Foundation
import Testing

/// SIGKILL a child process that writes signed entries through a LogStore; every entry it printed (after its
/// fsync) must be in the store on reopen, the store must replay (both chains checked), and the auditor must find
/// the log intact. The store is reopened between kills, so the child also runs on top of a checkpoint.
///
/// Default: 4 kills. `COOP_STORE_CRASH_KILLS=1000` for a stress run; `COOP_CRASH_SEED` repeats the timings.
@Suite("Log store crash recovery")
struct StoreCrashTests {
    @Test("every acknowledged entry survives SIGKILL; the store replays and the auditor finds it intact")
    func killAndReopen() async throws {
        let settings = CrashSettings(test: "StoreCrashTests", killsVariable: "COOP_STORE_CRASH_KILLS", defaultKills: 4)
        let kills = settings.kills
        var random = SeededRandom(seed: settings.seed)
        let roster = try Fixtures.roster()
        let catalog = try Fixtures.catalog()
        let child = try ChildProcess.product("coop-crash-child")
        let dir = try CoopTestKit.TemporaryDirectory()
        let data = dir.file("node")
        var acknowledged: [UInt64: String] = [:]
        var checkpointsUsed = 0
        for round in 0..<kills {
            let output = dir.file("out-\(round)")
            let errors = dir.file("err-\(round)")
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            _ = FileManager.default.createFile(atPath: errors, contents: nil)
            let process = try SpawnedProcess(
                child,
                ["--store", data, Fixtures.rosterPath, Fixtures.catalogPath, Fixtures.keysPath],
                standardOutput: .file(output),
                standardError: .file(errors)
            )
            // Kill after a random number of acknowledgements (an event, not a delay: on a slow or loaded
            // machine the child simply takes longer to reach it).
            let target = Int.random(in: 1...400, using: &random)
            let reached = try await Self.waitForLines(target, in: output, while: process)
            let alive = process.isRunning
            process.send(SIGKILL)
            await process.waitForExit()
            let childErrors = try String(contentsOfFile: errors, encoding: .utf8)
            try #require(alive, "round \(round): the child exited by itself: \(childErrors)")
            try #require(reached, "round \(round): no \(target) acknowledgements within 300 s: \(childErrors)")
            for line in try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n") {
                let parts = line.split(separator: " ")
                try #require(parts.count == 2, "round \(round): unreadable line \(line)")
                acknowledged[UInt64(parts[0])!] = String(parts[1])
            }

            let store = try LogStore.open(directory: data, roster: roster, catalog: catalog)
            if store.openReport.checkpointUsed { checkpointsUsed += 1 }
            let held = try store.entries(of: "cq-shapingba", after: 0)
            for (sequence, id) in acknowledged {
                #expect(
                    sequence <= UInt64(held.count) && EntryID(of: held[Int(sequence - 1)]).hex == id,
                    "round \(round): acknowledged entry #\(sequence) \(id) is not in the store"
                )
            }
            try await store.close()
            let report = try Auditor.verify(directory: data, roster: roster)
            #expect(report.isIntact, "round \(round): \(report.problems.first.map { "\($0)" } ?? "torn tail")")
        }
        print(
            "StoreCrashTests: \(acknowledged.count) acknowledged entries, \(checkpointsUsed) reopens from a checkpoint"
        )
        #expect(!acknowledged.isEmpty, "the child never acknowledged an entry")
        #expect(checkpointsUsed == kills - 1)
    }

    /// Waits until the file at `path` holds at least `count` complete lines, while `process` runs; false when
    /// 300 s pass first (a generous bound for a loaded machine, only to turn a hang into a failure). The file is
    /// read once more after the wait ends, so a test task that was not scheduled for a while still sees the lines.
    static func waitForLines(_ count: Int, in path: String, while process: SpawnedProcess) async throws -> Bool {
        func reached() -> Bool {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            return text.reduce(0, { $0 + ($1 == "\n" ? 1 : 0) }) >= count
        }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(300)
        while clock.now < deadline && process.isRunning {
            if reached() { return true }
            try await Task.sleep(for: .milliseconds(5))
        }
        return reached()
    }
}
