import CoopDevTools
import CoopLedger
import CoopLog
import Foundation

/// Generated logs: `audit verify` and replay without signature checks.
enum LogBench {
    struct Generated {
        var entries: Int
        var elapsed: Double
        var cpu: Double
        var bytes: UInt64
        var rate: Double { Double(entries) / elapsed }
    }

    /// Writes a valid data directory of `entries` signed entries (``DemoLogGenerator``), printing progress on
    /// standard error.
    static func generate(_ data: ReferenceData, into directory: String, entries: Int) async throws -> Generated {
        let generator = DemoLogGenerator(catalog: data.catalog, roster: data.roster, keys: data.keys)
        let step = max(4096, entries / 10)
        var nextReport = step
        let start = now()
        let cpu0 = cpuTime()
        try await generator.generate(into: directory, entries: entries) { done in
            if done >= nextReport || done == entries {
                let t = now() - start
                note(
                    String(
                        format: "    generating: %@ / %@ entries, %.1f s, %@",
                        grouped(done),
                        grouped(entries),
                        t,
                        rate(Double(done) / t)
                    )
                )
                nextReport += step
            }
        }
        let elapsed = now() - start
        return Generated(entries: entries, elapsed: elapsed, cpu: cpuTime() - cpu0, bytes: logBytes(directory))
    }

    /// Bytes of the segment files in `directory/log`.
    static func logBytes(_ directory: String) -> UInt64 {
        let fm = FileManager.default
        let names = (try? fm.contentsOfDirectory(atPath: directory + "/log")) ?? []
        return names.filter { $0.hasSuffix(".seg") }.reduce(0) { total, name in
            let size = (try? fm.attributesOfItem(atPath: directory + "/log/" + name)[.size] as? NSNumber)??.uint64Value
            return total + (size ?? 0)
        }
    }

    struct Audit {
        var entries: UInt64
        var intact: Bool
        var elapsed: Double
        var cpu: Double
        var rate: Double { Double(entries) / elapsed }
    }

    /// `coop audit verify`'s work: ``Auditor/verify(directory:roster:progress:)``.
    static func audit(_ data: ReferenceData, directory: String) throws -> Audit {
        let cpu0 = cpuTime()
        let (report, elapsed) = try timed { try Auditor.verify(directory: directory, roster: data.roster) }
        return Audit(entries: report.entries, intact: report.isIntact, elapsed: elapsed, cpu: cpuTime() - cpu0)
    }

    struct Replay {
        var records: UInt64
        var entries: Int
        var elapsed: Double
        var cpu: Double
        var rate: Double { Double(records) / elapsed }
    }

    /// ``LedgerReplay/view(directory:catalog:roster:limit:)`` over the whole log (no signature checks).
    static func replay(_ data: ReferenceData, directory: String) throws -> Replay {
        let cpu0 = cpuTime()
        let (result, elapsed) = try timed {
            try LedgerReplay.view(directory: directory, catalog: data.catalog, roster: data.roster)
        }
        return Replay(
            records: result.records,
            entries: result.view.entryCount,
            elapsed: elapsed,
            cpu: cpuTime() - cpu0
        )
    }
}
