import CoopTestKit
import Foundation
import Synchronization
import Testing

@testable import CoopSegments

@Suite("SegmentedLog: group commit and failures")
struct GroupCommitTests {
    /// The record task `task` appends as its `sequence`th.
    static func record(task: Int, sequence: Int) -> [UInt8] {
        Array("task \(task) record \(sequence) ".utf8)
            + [UInt8](repeating: UInt8(task), count: (task * 31 + sequence) % 97)
    }

    @Test("32 concurrent tasks: every append lands, positions are unique and dense, and syncs are shared")
    func concurrentAppends() async throws {
        let tasks = 32
        let perTask = 40
        try await withTemporaryDirectory { directory in
            let log = try SegmentedLog.open(
                directory: directory.path,
                options: SegmentedLog.Options(durability: .durable, segmentSize: 16 << 10)
            )
            let results = try await withThrowingTaskGroup(of: (Int, [RecordPosition]).self) { group in
                for task in 0..<tasks {
                    group.addTask {
                        var positions: [RecordPosition] = []
                        for sequence in 0..<perTask {
                            positions.append(try await log.append(Self.record(task: task, sequence: sequence)))
                        }
                        return (task, positions)
                    }
                }
                var all: [Int: [RecordPosition]] = [:]
                for try await (task, positions) in group {
                    all[task] = positions
                }
                return all
            }
            let total = tasks * perTask
            let positions = results.values.flatMap { $0 }
            #expect(positions.count == total)
            #expect(Set(positions.map(\.index)) == Set(0..<UInt64(total)))
            #expect(Set(positions.map { "\($0.segment)@\($0.offset)" }).count == total)
            for (_, mine) in results {
                #expect(mine == mine.sorted(), "a task's appends are in order")
            }
            #expect(log.count == UInt64(total))
            let statistics = log.statistics
            #expect(statistics.appendCalls == UInt64(total))
            #expect(statistics.recordsWritten == UInt64(total))
            // How much batching happens depends on scheduling; it is reported, not asserted (the deterministic test
            // below forces it). A sync per commit at most, and never more commits than appends:
            #expect(statistics.syncs <= statistics.groupCommits + statistics.segmentsCreated, "\(statistics)")
            #expect(statistics.groupCommits <= statistics.appendCalls, "\(statistics)")
            #expect(statistics.segmentsCreated > 0)
            print(
                "group commit: \(statistics.appendCalls) appends in \(statistics.groupCommits) commits with "
                    + "\(statistics.syncs) syncs "
                    + "(\(Double(statistics.syncs) / Double(statistics.appendCalls)) syncs per append)"
            )

            // Each record is where its append said it is.
            var expected: [UInt64: [UInt8]] = [:]
            for (task, mine) in results {
                for (sequence, position) in mine.enumerated() {
                    expected[position.index] = Self.record(task: task, sequence: sequence)
                }
            }
            let stored = try log.records()
            #expect(stored.count == total)
            for record in stored {
                #expect(record.payload == expected[record.position.index])
            }
            #expect(stored.map(\.position) == positions.sorted())
            try await log.close()
            let reopened = try SegmentedLog.open(directory: directory.path)
            #expect(try reopened.records() == stored)
            try await reopened.close()
        }
    }

    /// Appends record [0] (one group commit), then holds the writer and queues [1] and 19 appends of two records
    /// each, which the next group commit takes together once `gate` is released. Returns the held tickets.
    static func queueWhileHeld(
        _ log: SegmentedLog,
        _ gate: WriterGate
    ) async throws -> (first: AppendTicket, rest: [AppendTicket]) {
        _ = try await log.append([0])
        gate.hold()
        let first = try log.enqueue([[1]])
        try await WriterGate.waitUntil { gate.blockedWriters == 1 }
        return (first, try (2...20).map { try log.enqueue([[UInt8($0)], [UInt8($0)]]) })
    }

    @Test("the commit observer sees each group commit: appends, records, bytes and one timed sync each")
    func commitObserver() async throws {
        for durability in [SegmentedLog.Durability.durable, .unsafeNoSync] {
            try await withTemporaryDirectory { directory in
                let gate = WriterGate()
                let samples = Mutex<[SegmentedLog.CommitSample]>([])
                var options = SegmentedLog.Options(durability: durability)
                options.faults.beforeBatch = { gate.pass() }
                options.onCommit = SegmentedLog.CommitObserver { sample in samples.withLock { $0.append(sample) } }
                let log = try SegmentedLog.open(directory: directory.path, options: options)
                let (first, tickets) = try await Self.queueWhileHeld(log, gate)
                gate.release()
                _ = try await first.wait()
                _ = try await tickets.last!.wait()
                // The observer runs after the callers are resumed; close() queues behind it.
                try await log.close()
                let seen = samples.withLock { $0 }
                let frame = RecordFrame.frameSize(payloadCount: 1)
                #expect(seen.map(\.appends) == [1, 20], "\(durability)")
                #expect(seen.map(\.records) == [1, 39])
                #expect(seen.map(\.bytes) == [frame, 39 * frame])
                if durability == .durable {
                    #expect(seen.map(\.syncNanoseconds.count) == [1, 1])
                    let timed = seen.allSatisfy { sample in sample.syncNanoseconds.allSatisfy { $0 > 0 } }
                    #expect(timed)
                } else {
                    let untimed = seen.allSatisfy { $0.syncNanoseconds.isEmpty }
                    #expect(untimed, "no sync, no sync time")
                }
            }
        }
    }

    @Test("appends queued while the writer is held share one write and one sync")
    func forcedBatch() async throws {
        try await withTemporaryDirectory { directory in
            let gate = WriterGate()
            var options = SegmentedLog.Options(durability: .durable)
            options.faults.beforeBatch = { gate.pass() }
            let log = try SegmentedLog.open(directory: directory.path, options: options)
            let (first, tickets) = try await Self.queueWhileHeld(log, gate)
            #expect(first.outcome == nil && tickets.allSatisfy { $0.outcome == nil })
            gate.release()
            // Tickets complete in order: once the last is done, every earlier one answers without waiting.
            _ = try await tickets.last!.wait()
            #expect(first.outcome != nil && tickets.allSatisfy { $0.outcome != nil })
            #expect(try await first.wait().map(\.index) == [1])
            for (i, ticket) in tickets.enumerated() {
                #expect(try await ticket.wait().map(\.index) == [UInt64(2 + 2 * i), UInt64(3 + 2 * i)])
            }
            let statistics = log.statistics
            #expect(statistics.groupCommits == 2, "\(statistics)")
            #expect(statistics.syncs == 2, "\(statistics)")
            #expect(statistics.appendCalls == 21)
            try await log.close()
        }
    }

    @Test("whenComplete calls each callback once: at completion (also a failed sync's), or at once if already complete")
    func whenComplete() async throws {
        for failing in [false, true] {
            try await withTemporaryDirectory { directory in
                let gate = WriterGate()
                var options = SegmentedLog.Options(durability: .durable)
                if failing { options.faults = Self.failingSync(failOn: 2) }
                options.faults.beforeBatch = { gate.pass() }
                let log = try SegmentedLog.open(directory: directory.path, options: options)
                let (first, tickets) = try await Self.queueWhileHeld(log, gate)
                let calls = Mutex<[String: [Result<[UInt64], LogError>]]>([:])
                func note(_ name: String) -> @Sendable (Result<[RecordPosition], LogError>) -> Void {
                    { outcome in calls.withLock { $0[name, default: []].append(outcome.map { $0.map(\.index) }) } }
                }
                first.whenComplete(note("first, a"))
                first.whenComplete(note("first, b"))
                tickets[4].whenComplete(note("fifth"))
                #expect(calls.withLock { $0.isEmpty }, "nothing completes while the writer is held")
                gate.release()
                _ = try? await tickets.last!.wait()
                let seen = calls.withLock { $0 }
                #expect(seen.keys.sorted() == ["fifth", "first, a", "first, b"])
                #expect(seen.values.allSatisfy { $0.count == 1 }, "each callback once: \(seen)")
                if failing {
                    #expect(seen.values.allSatisfy { (try? $0[0].get()) == nil && $0[0].failureCode == .io })
                } else {
                    #expect(try seen["first, a"]?[0].get() == [1] && seen["first, b"]?[0].get() == [1])
                    #expect(try seen["fifth"]?[0].get() == [10, 11])
                }
                // A complete ticket calls at once, on the caller's thread, before whenComplete returns.
                let late = Mutex<Int>(0)
                first.whenComplete { _ in late.withLock { $0 += 1 } }
                #expect(late.withLock { $0 } == 1)
                try await log.close()
            }
        }
    }

    @Test("a burst of large appends is split into group commits of bounded size")
    func largeBurst() async throws {
        try await withTemporaryDirectory { directory in
            let log = try SegmentedLog.open(directory: directory.path, options: fastOptions())
            let positions = try await withThrowingTaskGroup(of: [RecordPosition].self) { group in
                for task in 0..<8 {
                    group.addTask {
                        try await log.append((0..<3).map { [UInt8](repeating: UInt8(task * 3 + $0), count: 1 << 20) })
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(Set(positions.map(\.index)) == Set(0..<24))
            #expect(log.statistics.groupCommits >= 24 / 4, "\(log.statistics)")
            for record in try log.records() {
                let byte = record.payload[0]
                #expect(record.payload.count == 1 << 20 && record.payload.allSatisfy { $0 == byte })
            }
            try await log.close()
        }
    }

    @Test("readers running alongside appenders see a consistent prefix")
    func readWhileAppending() async throws {
        try await withTemporaryDirectory { directory in
            let log = try SegmentedLog.open(directory: directory.path, options: fastOptions(segmentSize: 8192))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for i in 0..<2000 {
                        _ = try await log.append(Array("record \(i)".utf8))
                    }
                }
                group.addTask {
                    for _ in 0..<50 {
                        let before = log.count
                        var seen: UInt64 = 0
                        try log.forEachRecord { position, payload in
                            #expect(position.index == seen)
                            #expect(Array(payload) == Array("record \(seen)".utf8))
                            seen += 1
                        }
                        #expect(seen >= before)
                        await Task.yield()
                    }
                }
                try await group.waitForAll()
            }
            try await log.close()
        }
    }

    /// Makes the `failOn`th sync (1-based) fail with EIO.
    static func failingSync(failOn: Int) -> FaultInjection {
        let syncs = Mutex(0)
        return FaultInjection { point in
            guard point == .sync else { return nil }
            let n = syncs.withLock { n in
                n += 1
                return n
            }
            return n == failOn ? EIO : nil
        }
    }

    @Test("a failed fsync fails every append in its group commit and every later one; reopening recovers")
    func syncFailure() async throws {
        try await withTemporaryDirectory { directory in
            let gate = WriterGate()
            var options = SegmentedLog.Options(durability: .durable)
            options.faults = Self.failingSync(failOn: 2)
            options.faults.beforeBatch = { gate.pass() }
            let log = try SegmentedLog.open(directory: directory.path, options: options)
            _ = try await log.append([1])
            // Ten appends in one group commit (the writer is held while they queue), whose sync fails.
            gate.hold()
            let tickets = try (0..<10).map { try log.enqueue([[UInt8($0)]]) }
            try await WriterGate.waitUntil { gate.blockedWriters == 1 }
            gate.release()
            var errors: [LogError] = []
            for ticket in tickets {
                do {
                    _ = try await ticket.wait()
                } catch let error as LogError {
                    errors.append(error)
                }
            }
            #expect(errors.count == 10, "no append may succeed at or after the failed sync")
            #expect(errors.allSatisfy { $0.code == .io }, "\(errors)")
            #expect(errors.first?.message.contains("fdatasync") == true)
            #expect(log.count == 1)
            #expect(log.failure?.code == .io)
            let later = await #expect(throws: LogError.self) { try await log.append([99]) }
            #expect(later?.code == .failed)
            #expect(later?.message.contains("close it and open it again") == true)
            try await log.close()

            // The acknowledged record is there, and nothing whose sync failed.
            let reopened = try SegmentedLog.open(directory: directory.path)
            let payloads = try allPayloads(reopened)
            #expect(payloads == [[1]])
            _ = try await reopened.append([42])
            try await reopened.close()
        }
    }

    @Test("a failed write fails the append and stops the log; nothing acknowledged is lost")
    func writeFailure() async throws {
        try await withTemporaryDirectory { directory in
            let writes = Mutex(0)
            var options = SegmentedLog.Options(durability: .durable)
            options.faults = FaultInjection { point in
                guard point == .write else { return nil }
                return writes.withLock { n in
                    n += 1
                    return n == 3 ? ENOSPC : nil
                }
            }
            let log = try SegmentedLog.open(directory: directory.path, options: options)
            _ = try await log.append([1])
            _ = try await log.append([2])
            let error = await #expect(throws: LogError.self) { try await log.append([3]) }
            #expect(error?.code == .io)
            #expect(error?.message.contains("pwrite") == true)
            #expect(error?.message.contains(directory.segmentPath(1)) == true)
            let after = await #expect(throws: LogError.self) { try await log.append([4]) }
            #expect(after?.code == .failed)
            try await log.close()
            let reopened = try SegmentedLog.open(directory: directory.path)
            #expect(try allPayloads(reopened) == [[1], [2]])
            try await reopened.close()
        }
    }
}

extension Result where Failure == LogError {
    /// The error's code, or `nil` on success.
    fileprivate var failureCode: LogError.Code? {
        if case .failure(let error) = self { return error.code }
        return nil
    }
}
