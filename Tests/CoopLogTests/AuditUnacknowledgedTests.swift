import CoopDevTools
import CoopLedger
import CoopLog
import CoopSegments
import CoopTestKit
import Foundation
import Synchronization
import Testing

/// A copy of a node that stopped after a failed sync: the auditor checks the acknowledged records, reports the
/// unacknowledged ones the node would cut, and does not call the copy intact (issue 6 §1 "After a failed fsync");
/// replay reads the acknowledged ones and warns about the rest.
@Suite("Audit after a failed sync")
struct AuditUnacknowledgedTests {
    @Test("verify names the failure marker, counts only acknowledged records and exits 1")
    func unacknowledgedTail() async throws {
        let roster = try Fixtures.roster()
        let catalog = try Fixtures.catalog()
        let dir = try CoopTestKit.TemporaryDirectory("coop-failed-sync")
        let keys = try Fixtures.nodes.map { try NodeKeys.read(name: $0, from: Fixtures.keysPath) }
        let generated = dir.file("generated")
        try await DemoLogGenerator(catalog: catalog, roster: roster, keys: keys, seed: 71)
            .generate(into: generated, entries: 120)
        var payloads: [[UInt8]] = []
        try LogReader.open(directory: generated).forEachRecord { _, payload in payloads.append(Array(payload)) }

        // The node's disk starts failing syncs after the first 80 records were acknowledged.
        let node = dir.file("node")
        try FileManager.default.createDirectory(atPath: node, withIntermediateDirectories: true)
        let failing = Mutex(false)
        var options = SegmentedLog.Options(durability: .durable)
        options.faults = FaultInjection { point in
            point == .sync && failing.withLock { $0 } ? EIO : nil
        }
        let log = try SegmentedLog.open(directory: node, options: options)
        _ = try await log.append(Array(payloads[..<80]))
        failing.withLock { $0 = true }
        await #expect(throws: LogError.self) { _ = try await log.append(Array(payloads[80...])) }
        try await log.close()
        for name in ["catalog.json", "roster.json"] {
            try FileManager.default.copyItem(atPath: generated + "/" + name, toPath: node + "/" + name)
        }

        let report = try Auditor.verify(directory: node, roster: roster)
        let tail = try #require(report.unacknowledgedTail)
        #expect(report.records == 80)
        #expect(tail.acknowledgedRecords == 80 && tail.recordsDropped == 40)
        #expect(report.problems.isEmpty)
        #expect(!report.isIntact)

        let result = try ChildProcess.run(try ChildProcess.product("coop"), ["audit", "verify", node])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stderr.contains("40 records after them were never acknowledged"), "\(result.stderr)")
        #expect(result.stdoutText.contains("after 80 records"), "\(result.stdoutText)")

        // Replay reads the acknowledged records, as the node will, and says what it left out.
        let replay = try ChildProcess.run(try ChildProcess.product("coop"), ["audit", "replay", node])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdoutText.hasSuffix("items after 80 records\n"), "\(replay.stdoutText)")
        #expect(
            replay.stderr.contains("the node stopped after a failed write (fdatasync, errno 5)")
                && replay.stderr.contains("only the 80 acknowledged records were replayed, not the 40 written after"),
            "\(replay.stderr)"
        )
    }
}
