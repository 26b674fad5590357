import CoopTestKit
import Foundation
import Testing

@testable import CoopSegments

/// Power cuts on a simulated disk (`SimulatedDisk`): unlike SIGKILL, a power cut loses what was not synced, tears
/// unsynced writes into 512-byte sectors that reach the disk in any order, and may forget files whose directory was
/// not synced. Each seed runs a random script of group-committed appends (various sizes, small segments so they
/// roll over), closes, reopens and power cuts (during appends, segment creation, closing and recovery itself), and
/// checks after every recovery: it succeeded (a power cut is not damage), every acknowledged record is there in
/// order, and anything more is whole records that were appended, in their order — never garbage.
///
/// 100 seeds by default; `COOP_POWERCUT_SEEDS=10000` for a stress run; `COOP_POWERCUT_SEED=N` replays one seed.
@Suite("SegmentedLog: power cuts on a simulated disk")
struct PowerCutTests {
    static let directory = "/node"

    /// The seeds to run, from the environment.
    static var seeds: [UInt64] {
        let environment = ProcessInfo.processInfo.environment
        if let seed = environment["COOP_POWERCUT_SEED"].flatMap({ UInt64($0) }) { return [seed] }
        let count = environment["COOP_POWERCUT_SEEDS"].flatMap({ UInt64($0) }) ?? 100
        return Array(1...max(1, count))
    }

    @Test("every acknowledged record survives power cuts, in order, and nothing else but whole appended records")
    func powerCuts() async throws {
        let seeds = Self.seeds
        let clock = ContinuousClock()
        let start = clock.now
        var totals = Totals()
        var failures = 0
        for seed in seeds {
            do {
                try await Self.run(seed: seed, totals: &totals)
            } catch {
                failures += 1
                Issue.record(
                    "seed \(seed): \(error)\nreplay with: COOP_POWERCUT_SEED=\(seed) swift test --filter PowerCutTests"
                )
                if failures >= 5 { break }
            }
        }
        print(
            "PowerCutTests: \(seeds.count) seeds in \(clock.now - start): \(totals.cuts) power cuts, "
                + "\(totals.recoveries) recoveries (\(totals.tornTails) torn tails cut), \(totals.acknowledged) "
                + "appends acknowledged, \(totals.unacknowledgedKept) unacknowledged records found whole after a cut"
        )
    }

    struct Totals {
        var cuts = 0
        var recoveries = 0
        var tornTails = 0
        var acknowledged = 0
        var unacknowledgedKept = 0
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The state of one scripted run.
    struct Script {
        var random: SeededGenerator
        let disk: SimulatedDisk
        let gate = WriterGate()
        var options: SegmentedLog.Options
        /// Every record ever queued, in log order, since the records that survived the last recovery.
        var expected: [[UInt8]] = []
        /// How many of `expected` must be there: acknowledged, or found after a recovery.
        var acknowledged = 0
        var serial = 0
        var log: SegmentedLog?
    }

    static func run(seed: UInt64, totals: inout Totals) async throws {
        var random = SeededGenerator(seed: seed)
        let disk = SimulatedDisk(seed: random.next())
        var options = SegmentedLog.Options(
            durability: .durable,
            segmentSize: [UInt64(256), 1024, 4096, 32 << 10][Int.random(in: 0..<4, using: &random)]
        )
        options.fileSystem = disk
        var script = Script(random: random, disk: disk, options: options)
        script.options.faults.beforeBatch = { [gate = script.gate] in gate.pass() }
        try await reopen(&script, totals: &totals, step: -1)
        let steps = Int.random(in: 10...40, using: &script.random)
        for step in 0..<steps {
            let action = Int.random(in: 0..<100, using: &script.random)
            if action < 55 {
                try await burst(&script, totals: &totals)
            } else if action < 80 {
                disk.cutPower(afterMutations: Int.random(in: 1...40, using: &script.random))
                try await burst(&script, totals: &totals)
            } else if action < 90 {
                if Bool.random(using: &script.random) {
                    disk.cutPower(afterMutations: Int.random(in: 1...3, using: &script.random))
                }
                do {
                    try await script.log?.close()
                } catch _ where !disk.isPoweredOn {}
                script.log = nil
            } else {
                // A cut, then another one while recovering from it.
                disk.cutPower()
                script.log = nil
                disk.powerOn()
                disk.cutPower(afterMutations: Int.random(in: 1...6, using: &script.random))
                do {
                    let log = try SegmentedLog.open(directory: directory, options: script.options)
                    try await log.close()
                } catch _ where !disk.isPoweredOn {}
            }
            disk.disarm()
            if !disk.isPoweredOn {
                script.log = nil
                disk.powerOn()
            }
            if script.log == nil {
                try await reopen(&script, totals: &totals, step: step)
            }
        }
        try await script.log?.close()
        try await reopen(&script, totals: &totals, step: steps)
        try await script.log?.close()
        totals.cuts += disk.cuts
    }

    /// Opens the log (it must succeed) and checks what it holds against the script.
    static func reopen(_ script: inout Script, totals: inout Totals, step: Int) async throws {
        let log: SegmentedLog
        do {
            log = try SegmentedLog.open(directory: directory, options: script.options)
        } catch {
            throw Failure(description: "step \(step): recovery failed after a power cut: \(error)")
        }
        totals.recoveries += 1
        if log.recoveryReport.tornTail != nil { totals.tornTails += 1 }
        let stored = try log.records().map(\.payload)
        guard stored.count >= script.acknowledged else {
            throw Failure(
                description: "step \(step): \(script.acknowledged) records were acknowledged, the log holds "
                    + "\(stored.count) (\(log.recoveryReport))"
            )
        }
        guard stored.count <= script.expected.count, stored[...] == script.expected[..<stored.count] else {
            let first =
                zip(stored, script.expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
                ?? min(stored.count, script.expected.count)
            throw Failure(
                description: "step \(step): record \(first) is not what was appended there (the log holds "
                    + "\(stored.count) records, \(script.expected.count) were appended; \(log.recoveryReport))"
            )
        }
        totals.unacknowledgedKept += stored.count - script.acknowledged
        script.expected = stored
        script.acknowledged = stored.count
        script.log = log
    }

    /// 1–8 appends of 1–3 records queued while the writer is held, so that they share one group commit.
    static func burst(_ script: inout Script, totals: inout Totals) async throws {
        guard let log = script.log else { return }
        let appends = Int.random(in: 1...8, using: &script.random)
        var batches: [[[UInt8]]] = []
        for _ in 0..<appends {
            batches.append((0..<Int.random(in: 1...3, using: &script.random)).map { _ in record(&script) })
        }
        script.gate.hold()
        var tickets: [AppendTicket] = []
        for records in batches {
            do {
                tickets.append(try log.enqueue(records))
            } catch {
                break  // the log stopped taking appends after a failed write or sync (the power cut)
            }
            script.expected += records
        }
        script.gate.release()
        for ticket in tickets {
            do {
                let positions = try await ticket.wait()
                if let last = positions.last {
                    script.acknowledged = max(script.acknowledged, Int(last.index) + 1)
                    totals.acknowledged += 1
                }
            } catch {
                guard !script.disk.isPoweredOn else {
                    throw Failure(description: "an append failed with the power on: \(error)")
                }
            }
        }
    }

    /// A record that cannot be mistaken for another: its serial number, then random bytes (zeros included).
    static func record(_ script: inout Script) -> [UInt8] {
        script.serial += 1
        let size: Int
        switch Int.random(in: 0..<20, using: &script.random) {
        case 0: size = Int.random(in: 2000...6000, using: &script.random)
        case 1...4: size = Int.random(in: 300...1500, using: &script.random)
        default: size = Int.random(in: 0...300, using: &script.random)
        }
        var bytes = Array("#\(script.serial):".utf8)
        if Bool.random(using: &script.random) {
            bytes += [UInt8](repeating: 0, count: size)
        } else {
            bytes += script.random.bytes(size)
        }
        return bytes
    }
}
