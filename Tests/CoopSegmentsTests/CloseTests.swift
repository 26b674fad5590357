import CoopTestKit
import Foundation
import Synchronization
import Testing

@testable import CoopSegments

@Suite("SegmentedLog: closing under load")
struct CloseTests {
    /// What one appending task saw.
    struct TaskOutcome: Sendable {
        var task: Int
        /// Sequence numbers whose append succeeded, in order.
        var acknowledged: [Int] = []
        /// Appends queued (accepted) before close began whose outcome was an error: must stay empty.
        var refusedAfterQueuing: [String] = []
        /// Appends refused with `.closed` although close had not begun when they were refused: must stay empty.
        var closedTooEarly = 0
    }

    /// Shared between the appending tasks and the test.
    final class Counters: Sendable {
        /// Set just before `close()` is called.
        let closeBegan = Atomic<Bool>(false)
        /// Appends that completed successfully.
        let completed = Atomic<Int>(0)
    }

    static func record(task: Int, sequence: Int) -> [UInt8] {
        Array("task \(task) record \(sequence)|".utf8)
            + [UInt8](repeating: UInt8(task), count: (task * 13 + sequence) % 200)
    }

    @Test(
        "close while 32 tasks append: every append queued before close completes and is durable; later ones are refused"
    )
    func closeWhileAppending() async throws {
        try await withTemporaryDirectory { directory in
            let gate = WriterGate()
            var options = SegmentedLog.Options(durability: .durable, segmentSize: 16 << 10)
            options.faults.beforeBatch = { gate.pass() }
            let log = try SegmentedLog.open(directory: directory.path, options: options)
            let counters = Counters()
            let tasks = 32
            let outcomes = try await withThrowingTaskGroup(of: TaskOutcome.self) { group in
                for task in 0..<tasks {
                    group.addTask {
                        var outcome = TaskOutcome(task: task)
                        var sequence = 0
                        // Even tasks await `append`; odd ones queue with `enqueue` and then wait for the ticket, so
                        // the test knows exactly which appends were queued before close began.
                        while true {
                            let record = Self.record(task: task, sequence: sequence)
                            if task % 2 == 0 {
                                do {
                                    _ = try await log.append(record)
                                    outcome.acknowledged.append(sequence)
                                } catch let error as LogError where error.code == .closed {
                                    if !counters.closeBegan.load(ordering: .sequentiallyConsistent) {
                                        outcome.closedTooEarly += 1
                                    }
                                    return outcome
                                }
                            } else {
                                let ticket: AppendTicket
                                do {
                                    ticket = try log.enqueue([record])
                                } catch let error as LogError where error.code == .closed {
                                    if !counters.closeBegan.load(ordering: .sequentiallyConsistent) {
                                        outcome.closedTooEarly += 1
                                    }
                                    return outcome
                                }
                                do {
                                    _ = try await ticket.wait()
                                    outcome.acknowledged.append(sequence)
                                } catch {
                                    outcome.refusedAfterQueuing.append("task \(task) record \(sequence): \(error)")
                                    return outcome
                                }
                            }
                            counters.completed.add(1, ordering: .sequentiallyConsistent)
                            sequence += 1
                        }
                    }
                }
                // Let the tasks run for a while, then hold the writer and wait until every task has an append
                // queued behind it: those are the appends a close must not drop.
                try await WriterGate.waitUntil { counters.completed.load(ordering: .sequentiallyConsistent) >= 300 }
                gate.hold()
                try await WriterGate.waitUntil {
                    gate.blockedWriters == 1
                        && log.statistics.appendCalls
                            == UInt64(counters.completed.load(ordering: .sequentiallyConsistent) + tasks)
                }
                counters.closeBegan.store(true, ordering: .sequentiallyConsistent)
                async let closing: Void = log.close()
                // Close has begun once an empty append is refused; only then let the writer go on.
                while !(await Self.isClosing(log)) {
                    try await Task.sleep(for: .milliseconds(1))
                }
                gate.release()
                try await closing
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let acknowledged = outcomes.reduce(0) { $0 + $1.acknowledged.count }
            for outcome in outcomes {
                #expect(
                    outcome.refusedAfterQueuing.isEmpty,
                    "queued before close, then refused: \(outcome.refusedAfterQueuing)"
                )
                #expect(outcome.closedTooEarly == 0, "task \(outcome.task): refused with closed before close began")
            }
            #expect(UInt64(acknowledged) == log.statistics.appendCalls, "every accepted append must succeed")
            print("close under load: \(acknowledged) appends acknowledged, \(log.statistics)")

            let reopened = try SegmentedLog.open(directory: directory.path)
            #expect(reopened.recoveryReport.isClean)
            var stored: [Int: [Int]] = [:]
            for record in try reopened.records() {
                let text = String(decoding: record.payload.prefix { $0 != UInt8(ascii: "|") }, as: UTF8.self)
                let words = text.split(separator: " ")
                let task = Int(words[1])!
                let sequence = Int(words[3])!
                #expect(record.payload == Self.record(task: task, sequence: sequence))
                stored[task, default: []].append(sequence)
            }
            for outcome in outcomes {
                #expect(stored[outcome.task, default: []] == outcome.acknowledged, "task \(outcome.task)")
            }
            try await reopened.close()
        }
    }

    /// True once `close()` has begun (an append of no records is then refused with `.closed`).
    static func isClosing(_ log: SegmentedLog) async -> Bool {
        do {
            _ = try await log.append([] as [[UInt8]])
            return false
        } catch {
            return (error as? LogError)?.code == .closed
        }
    }
}
