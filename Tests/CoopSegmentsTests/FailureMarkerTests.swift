import CoopTestKit
import Foundation
import Synchronization
import Testing

@testable import CoopSegments

/// After a failed write or sync the log writes `log/FAILURE`; the next open keeps exactly the acknowledged records,
/// cuts the rest and says so (docs/design/0004-failed-sync.md).
@Suite("SegmentedLog: after a failed sync")
struct FailureMarkerTests {
    /// Opens a durable log on `disk` in `/node`.
    static func open(_ disk: SimulatedDisk, segmentSize: UInt64 = 64 << 20) throws -> SegmentedLog {
        var options = SegmentedLog.Options(durability: .durable, segmentSize: segmentSize)
        options.fileSystem = disk
        return try SegmentedLog.open(directory: "/node", options: options)
    }

    /// Appends `records` one at a time; the ones that fail are returned as errors.
    static func appendAll(_ log: SegmentedLog, _ records: [[UInt8]]) async -> [LogError] {
        var errors: [LogError] = []
        for record in records {
            do {
                _ = try await log.append(record)
            } catch let error as LogError {
                errors.append(error)
            } catch {
                Issue.record("unexpected \(error)")
            }
        }
        return errors
    }

    @Test("a failed fdatasync writes the marker; reopening cuts the unacknowledged records and reports them")
    func failedSyncIsReported() async throws {
        try await withTemporaryDirectory { directory in
            let gate = WriterGate()
            var options = SegmentedLog.Options(durability: .durable)
            options.faults = GroupCommitTests.failingSync(failOn: 3)
            options.faults.beforeBatch = { gate.pass() }
            let log = try SegmentedLog.open(directory: directory.path, options: options)
            _ = try await log.append([1])
            _ = try await log.append([2, 2])
            gate.hold()
            let tickets = try (0..<5).map { try log.enqueue([[UInt8($0)], [9]]) }
            try await WriterGate.waitUntil { gate.blockedWriters == 1 }
            gate.release()
            for ticket in tickets {
                await #expect(throws: LogError.self) { try await ticket.wait() }
            }
            let marker = String(decoding: try readFile(directory.logPath + "/FAILURE"), as: UTF8.self)
            #expect(marker.hasPrefix("COOPLOG-FAILURE 1\nacknowledged-records 2\nacknowledged-end 1 35\n"), "\(marker)")
            #expect(marker.contains("failed-call fdatasync\nerrno \(EIO)\n"), "\(marker)")
            try await log.close()

            let reopened = try SegmentedLog.open(directory: directory.path)
            #expect(try allPayloads(reopened) == [[1], [2, 2]])
            let cut = try #require(reopened.recoveryReport.unacknowledgedTail)
            #expect(cut.acknowledgedRecords == 2)
            #expect(cut.recordsDropped == 10)
            #expect(cut.bytesDropped == 10 * 9)
            #expect(cut.offset == 35)
            #expect(cut.path == directory.segmentPath(1))
            #expect(cut.failedCall == "fdatasync")
            #expect(cut.errno == EIO)
            #expect(cut.removedSegments.isEmpty)
            #expect(!reopened.recoveryReport.isClean)
            #expect(reopened.recoveryReport.description.contains("cut 10 unacknowledged records"))
            #expect(!FileManager.default.fileExists(atPath: directory.logPath + "/FAILURE"))
            _ = try await reopened.append([3])
            try await reopened.close()
            let again = try SegmentedLog.open(directory: directory.path)
            #expect(again.recoveryReport.isClean)
            #expect(try allPayloads(again) == [[1], [2, 2], [3]])
            try await again.close()
        }
    }

    @Test("the auditor's reader stops at the acknowledged end and says what a node would cut")
    func readerHonoursMarker() async throws {
        let disk = SimulatedDisk(seed: 1)
        let log = try Self.open(disk)
        #expect(await Self.appendAll(log, [[1], [2]]).isEmpty)
        disk.injectFailure { operation, path in operation == .sync && path.hasSuffix(".seg") ? EIO : nil }
        let errors = await Self.appendAll(log, [[3], [4]])
        #expect(errors.map(\.code) == [.io, .failed])
        disk.injectFailure(nil)
        let reader = try LogReader.open(directory: "/node", fileSystem: disk)
        #expect(reader.recordCount == 2)
        #expect(reader.unacknowledgedTail?.recordsDropped == 1)
        var payloads: [[UInt8]] = []
        try reader.forEachRecord { _, payload in payloads.append(Array(payload)) }
        #expect(payloads == [[1], [2]])
        var scanned: [[UInt8]] = []
        let outcome = try LogReader.scanAll(directory: "/node", fileSystem: disk) { _, payload in
            scanned.append(Array(payload))
        }
        #expect(scanned == [[1], [2]])
        #expect(outcome.damage == nil)
        #expect(outcome.unacknowledgedTail?.acknowledgedRecords == 2)
        try await log.close()
    }

    @Test("a sync that fails and a power cut after it: only acknowledged records come back", arguments: 0..<20)
    func failedSyncThenPowerCut(seed: UInt64) async throws {
        let disk = SimulatedDisk(seed: seed)
        let log = try Self.open(disk, segmentSize: 256)
        var random = SeededGenerator(seed: seed)
        let acknowledged = (0..<Int.random(in: 1...6, using: &random)).map { _ in
            random.bytes(Int.random(in: 1...200, using: &random))
        }
        #expect(await Self.appendAll(log, acknowledged).isEmpty)
        // Every later sync of a segment file fails (those made while creating a new segment too).
        disk.injectFailure { operation, path in operation == .sync && path.hasSuffix(".seg") ? EIO : nil }
        let failing = (0..<5).map { _ in random.bytes(Int.random(in: 1...200, using: &random)) }
        let errors = await Self.appendAll(log, failing)
        #expect(errors.first?.code == .io)
        #expect(errors.count == failing.count)
        disk.injectFailure(nil)
        disk.cutPower()
        disk.powerOn()
        let reopened = try Self.open(disk, segmentSize: 256)
        #expect(try allPayloads(reopened) == acknowledged, "seed \(seed)")
        let cut = try #require(reopened.recoveryReport.unacknowledgedTail, "seed \(seed)")
        #expect(cut.acknowledgedRecords == UInt64(acknowledged.count))
        #expect(cut.failedCall == "fdatasync" || cut.failedCall == "fsync")
        _ = try await reopened.append([7])
        try await reopened.close()
        let again = try Self.open(disk, segmentSize: 256)
        #expect(again.recoveryReport.isClean)
        #expect(try allPayloads(again) == acknowledged + [[7]])
        try await again.close()
    }

    @Test("when even the marker cannot be written, the error says so")
    func markerCannotBeWritten() async throws {
        let disk = SimulatedDisk(seed: 2)
        let log = try Self.open(disk)
        #expect(await Self.appendAll(log, [[1]]).isEmpty)
        disk.injectFailure { operation, path in
            (operation == .sync && path.hasSuffix(".seg")) || path.hasSuffix("FAILURE.tmp") ? EIO : nil
        }
        let errors = await Self.appendAll(log, [[2]])
        #expect(errors.count == 1)
        #expect(
            errors.first?.message.contains("the failure marker /node/log/FAILURE could not be written either") == true
        )
        #expect(
            errors.first?.message.contains("records from number 1 on may be ones whose write or sync failed") == true
        )
        disk.injectFailure(nil)
        try await log.close()
        let reopened = try Self.open(disk)
        #expect(reopened.recoveryReport.unacknowledgedTail == nil)
        #expect(try allPayloads(reopened).first == [1])
        try await reopened.close()
    }

    @Test("a disk error while a reader reads ends the read with .io naming the file and offset")
    func readErrorIsIO() async throws {
        let disk = SimulatedDisk(seed: 3)
        let log = try Self.open(disk)
        _ = try await log.append((0..<100).map { [UInt8](repeating: UInt8($0), count: 100) })
        disk.injectFailure { operation, path in operation == .read && path.hasSuffix("00000001.seg") ? EIO : nil }
        let error = #expect(throws: LogError.self) { try log.forEachRecord { _, _ in } }
        #expect(error?.code == .io)
        #expect(error?.path == "/node/log/00000001.seg")
        #expect(error?.message.contains("/node/log/00000001.seg") == true)
        disk.injectFailure(nil)
        #expect(try log.records().count == 100)
        try await log.close()
    }
}
