import CoopDevTools
import CoopLedger
import CoopLog
import CoopSegments
import Foundation
import Glibc

/// The benchmark run: measures in order, prints each figure as it is taken, then the table of figures, ratios
/// and goals. Never asserts a goal.
struct CoopBench {
    var options: BenchOptions
    var data: ReferenceData
    /// The run's scratch directory (fresh; removed at the end unless `--keep`).
    var scratch: String
    var summary = Summary()

    /// Entry point: `coop-bench [options]` or `coop-bench open DIR`.
    static func main(_ arguments: [String]) async -> Int32 {
        let args = Array(arguments.dropFirst())
        if let mode = args.first, mode == "rpc-unary" || mode == "rpc-stream" {
            do {
                if mode == "rpc-unary" {
                    try await rpcUnaryChild(Array(args.dropFirst()))
                } else {
                    try await rpcStreamChild(Array(args.dropFirst()))
                }
                return 0
            } catch {
                note("coop-bench \(mode): \(error)")
                return 1
            }
        }
        if let mode = args.first, mode == "append-one" {
            do {
                try await appendOneChild(Array(args.dropFirst()))
                return 0
            } catch {
                note("coop-bench \(mode): \(error)")
                return 1
            }
        }
        if let mode = args.first, mode == "open" || mode == "replay" {
            guard args.count == 2 else {
                note(BenchOptions.usage)
                return 2
            }
            do {
                if mode == "open" {
                    try await OpenBench.child(directory: args[1])
                } else {
                    try OpenBench.replayChild(directory: args[1])
                }
                return 0
            } catch {
                note("coop-bench \(mode): \(error)")
                return 1
            }
        }
        let options: BenchOptions
        do {
            options = try BenchOptions(arguments: args)
        } catch {
            if !error.message.isEmpty { note("coop-bench: \(error.message)") }
            note(BenchOptions.usage)
            return error.message.isEmpty ? 0 : 2
        }
        do {
            let data = try ReferenceData.load()
            let scratch = try makeScratch(options)
            var bench = CoopBench(options: options, data: data, scratch: scratch)
            let status: Int32
            do {
                try await bench.run()
                status = 0
            } catch {
                note("coop-bench: \(error)")
                if !bench.summary.rows.isEmpty {
                    say()
                    say("== Results so far (the run stopped: \(error))")
                    say(bench.summary.render())
                }
                status = 1
            }
            if options.keep {
                say("scratch directory kept: \(scratch)")
            } else {
                try? FileManager.default.removeItem(atPath: scratch)
                if options.parent == nil { rmdir(defaultParent) }  // only if now empty
            }
            return status
        } catch {
            note("coop-bench: \(error)")
            return 1
        }
    }

    static var defaultParent: String { FileManager.default.currentDirectoryPath + "/.bench-tmp" }

    /// A fresh directory inside `--dir` or ./.bench-tmp, named for this run.
    static func makeScratch(_ options: BenchOptions) throws -> String {
        let parent = options.parent ?? defaultParent
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        let stamp = Int(Date().timeIntervalSince1970)
        let path = URL(fileURLWithPath: parent).standardizedFileURL.path + "/run-\(stamp)-\(getpid())"
        guard mkdir(path, 0o755) == 0 else {
            throw BenchError("\(path): cannot create: \(String(cString: strerror(errno)))")
        }
        return path
    }

    // MARK: The run

    mutating func run() async throws {
        let started = now()
        header()

        let only = options.rpcOnly || options.nodeOnly || options.syncOnly || options.scaleOnly || options.webOnly
        if !only {
            let fsync = try measureFsync()
            let single = try await measureSingle(fsync: fsync)
            try await measureConcurrent(fsync: fsync, single: single)
            if !options.skipLogs {
                try await measureLogs()
            }
        }
        if !options.skipRPC && (!only || options.rpcOnly) {
            try await measureRPC()
        }
        if !options.skipNode && (!only || options.nodeOnly) {
            try await measureNode()
        }
        if !options.skipSync && (!only || options.syncOnly) {
            try await measureSync()
        }
        if !options.skipScale && (!only || options.scaleOnly) {
            try await measureScale()
        }
        if !options.skipWeb && (!only || options.webOnly) {
            try await measureWeb()
        }

        say()
        say("== Results")
        say(summary.render())
        say()
        say("load average at the end: \(loadAverage()) (\(cores) cores); total time \(seconds(now() - started))")
    }

    var cores: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// Whether a CPU-bound measurement running `threads` threads got less than 0.9 of a core for each.
    func starved(_ cpu: Double, threads: Double = 1) -> Bool {
        cpu < 0.9 * threads
    }

    func header() {
        let argv = CommandLine.arguments.dropFirst().joined(separator: " ")
        let command = ProcessInfo.processInfo.environment["COOP_BENCH_COMMAND"] ?? "coop-bench \(argv)"
        let date = ISO8601DateFormatter.string(
            from: Date(),
            timeZone: TimeZone.current,
            formatOptions: [.withInternetDateTime]
        )
        var uts = utsname()
        uname(&uts)
        let kernel = withUnsafeBytes(of: uts.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let memory = Double(ProcessInfo.processInfo.physicalMemory) / 1e9
        say("coop-bench: CoopLedger benchmarks (figures and ratios; goals are reported, never asserted)")
        say("command: \(command)")
        say("date:    \(date)")
        say(
            "machine: \(cpuModel()), \(cores) cores, \(String(format: "%.0f", memory)) GB RAM, Linux \(kernel)"
        )
        say("disk:    \(scratch) (\(fileSystemType(scratch)))")
        say("load average at the start: \(loadAverage()) (1, 5, 15 min; other work on this machine skews figures)")
        say(
            "cpu:     cores this process kept busy (CPU time ÷ wall time); under 0.9 in a one-thread figure means "
                + "it waited for the disk or was starved by other work"
        )
        #if DEBUG
        say("WARNING: a debug build; run scripts/run-benchmarks.sh (release) for meaningful figures")
        #endif
        let logs =
            options.skipLogs
            ? "--skip-logs (no 4–6), "
            : "log \(grouped(options.entries)) entries, audit log \(grouped(options.auditSize)) entries, "
        let rpc = options.skipRPC ? "--skip-rpc (no 7)" : "RPC \(grouped(options.rpcCalls)) unary calls of each kind"
        let node =
            options.skipNode
            ? "--skip-node (no 8)"
            : "node: \(options.writers) clients, restart with a \(grouped(options.entries))-entry log"
        if options.rpcOnly {
            say("sizes:   \(options.quick ? "--quick, " : "")--rpc (7 only), \(rpc)")
        } else if options.scaleOnly {
            say("sizes:   --scale (9c/9d only): 15, 30, 60 simulated nodes; up to \(options.scaleNodes) node processes")
        } else if options.syncOnly {
            say("sizes:   \(options.quick ? "--quick: 2,000" : "10,000") entries per side (9 only)")
        } else if options.webOnly {
            say(
                "sizes:   \(options.quick ? "--quick, " : "")--web (10 only), page with a \(grouped(options.entries))-entry log"
            )
        } else if options.nodeOnly {
            say("sizes:   \(options.quick ? "--quick, " : "")--node (8 only), \(node)")
        } else {
            say(
                "sizes:   \(options.quick ? "--quick, " : "")\(logs)\(options.writers) concurrent writers × "
                    + "\(options.appendsPerWriter) appends, \(rpc), \(node)"
            )
        }
    }

    func section(_ title: String) {
        say()
        say("== \(title)")
    }

    func detail(_ text: String) {
        say("   " + text)
    }

    // MARK: 1. Raw fsync

    mutating func measureFsync() throws -> FsyncResult {
        section("1. Raw fsync rate of this disk: pwrite 256 B at the end of a file + fdatasync, in a loop")
        let r = try FsyncBench.run(directory: scratch, seconds: options.fsyncSeconds)
        detail(
            "\(grouped(r.operations)) syncs in \(seconds(r.elapsed)): \(rate(r.rate)); latency p50 \(millis(r.p50)), "
                + "p99 \(millis(r.p99))"
        )
        summary.add(
            Row(
                number: "1",
                what: "raw fsync (256 B append + fdatasync)",
                figure: "\(rate(r.rate)) (p50 \(millis(r.p50)), p99 \(millis(r.p99)))",
                goal: "reference"
            )
        )
        return r
    }

    // MARK: 2. One writer

    mutating func measureSingle(fsync: FsyncResult) async throws -> AppendRun {
        let bounds = options.singleBounds
        let count = min(max(Int(fsync.rate * options.singleSeconds), bounds.lowerBound), bounds.upperBound)
        section("2. LogStore.append, one writer, each append awaited (durable: one fdatasync per append)")
        let directory = scratch + "/single"
        let r = try await AppendBench.single(data, directory: directory, count: count)
        let records = UInt64(count + 8)
        let recordBytes = Double(LogBench.logBytes(directory)) / Double(records)
        detail(
            "\(grouped(count)) appends (comments and IN_PROGRESS updates) in \(seconds(r.elapsed)): \(rate(r.rate)); "
                + "latency p50 \(millis(r.p50)), p99 \(millis(r.p99))"
        )
        detail(String(format: "about %.0f bytes on disk per record; CPU %.2f cores busy", recordBytes, r.busyCores))
        let ratio = r.rate / fsync.rate
        detail("ratio to the raw fsync rate (1): \(times(ratio)) (expected ≈ 1×: one sync per append)")
        detail(
            "p50 latency over the raw sync's p50: +\(millis(r.p50 - fsync.p50)) (signing and the store's checks, the "
                + "hop to the log's writer queue and back to the awaiting task)"
        )
        summary.add(
            Row(
                number: "2",
                what: "append, 1 writer, durable (\(count) awaited)",
                figure: "\(rate(r.rate)) (p50 \(millis(r.p50)), p99 \(millis(r.p99)))",
                ratio: "\(times(ratio)) of (1)",
                goal: "≈ 1× of (1) (≥ 0.8×)",
                met: ratio >= 0.8,
                cpu: r.busyCores
            )
        )
        lastRecordBytes = Int(recordBytes.rounded())
        try await decomposeSingle(r, fsync: fsync, count: count)
        return r
    }

    /// Where (2)'s time over the raw sync goes: the log alone (its sync and two thread hand-offs) and the store
    /// without syncs (signing, checks and the same hand-offs).
    mutating func decomposeSingle(_ r: AppendRun, fsync: FsyncResult, count: Int) async throws {
        let log = try await GroupCommitBench.single(
            directory: scratch + "/single-log",
            count: count,
            recordSize: lastRecordBytes
        )
        let noSync = try await AppendBench.single(
            data,
            directory: scratch + "/single-nosync",
            count: count,
            durability: .unsafeNoSync
        )
        detail(
            "SegmentedLog alone, one writer, \(lastRecordBytes)-byte records: p50 \(millis(log.p50)) = raw sync "
                + "+\(millis(log.p50 - fsync.p50)) (the hand-off to the writer queue and back); the store without "
                + "syncs: p50 \(millis(noSync.p50)) (signing, checks, encoding and the same hand-offs)"
        )
        summary.add(
            Row(
                number: "2a",
                what: "  SegmentedLog alone, 1 writer, durable",
                figure: "p50 \(millis(log.p50)), p99 \(millis(log.p99))",
                ratio: "(1) + \(millis(log.p50 - fsync.p50))",
                goal: "(diagnostic)"
            )
        )
        summary.add(
            Row(
                number: "2b",
                what: "  append, 1 writer, .unsafeNoSync",
                figure: "p50 \(millis(noSync.p50)), p99 \(millis(noSync.p99))",
                ratio: "(2) − (2a): \(millis(r.p50 - log.p50))",
                goal: "(diagnostic)",
                cpu: noSync.busyCores
            )
        )
    }

    /// Bytes per record the store wrote in (2), for the log-only group-commit run.
    var lastRecordBytes = 300
    /// 7d's p50 (CoopRPC unary over CurveZMQ), when 7 ran: 8c compares with it.
    var curveUnaryP50: Double?
    /// The data directory 6a generated, when it ran: 8e reuses it.
    var generatedLog: String?

    // MARK: 3. Concurrent writers

    mutating func measureConcurrent(fsync: FsyncResult, single: AppendRun) async throws {
        let writers = options.writers
        let perWriter = options.appendsPerWriter
        let total = writers * perWriter
        section("3. LogStore.append, \(writers) concurrent writers (task group; durable; group commit)")
        let durable = try await AppendBench.concurrent(
            data,
            directory: scratch + "/concurrent",
            writers: writers,
            perWriter: perWriter,
            durability: .durable
        )
        let ratio = durable.rate / single.rate
        let perSyncBound = durable.rate / fsync.rate
        detail(
            "\(grouped(total)) appends in \(seconds(durable.elapsed)): \(rate(durable.rate)); "
                + "\(times(ratio)) of one writer (2); CPU \(String(format: "%.2f", durable.busyCores)) of \(cores) "
                + "cores busy"
        )
        detail(
            "records per fsync: LogStore keeps its SegmentedLog (and its statistics) internal; at most one sync "
                + String(format: "per raw fsync time, so ≥ %.1f records per sync (rate ÷ (1))", perSyncBound)
        )
        summary.add(
            Row(
                number: "3",
                what: "append, \(writers) writers, durable (\(grouped(total)))",
                figure: rate(durable.rate),
                ratio: "\(times(ratio)) of (2)",
                goal: "≥ 20× of (2)",
                met: ratio >= 20,
                cpu: durable.busyCores
            )
        )
        summary.add(
            Row(
                number: "3a",
                what: "  records per fsync in (3)",
                figure: String(format: "≥ %.1f", perSyncBound),
                ratio: "(3) ÷ (1)",
                goal: "(lower bound)"
            )
        )

        // What limits it: the same load without syncs, raw signing, and the log alone.
        let noSync = try await AppendBench.concurrent(
            data,
            directory: scratch + "/nosync",
            writers: writers,
            perWriter: perWriter,
            durability: .unsafeNoSync
        )
        detail(
            "same load with .unsafeNoSync (no fdatasync): \(rate(noSync.rate)) in \(seconds(noSync.elapsed)), CPU "
                + String(format: "%.2f", noSync.busyCores)
                + " cores busy; durable reaches \(times(durable.rate / noSync.rate)) of it"
        )
        let sign = AppendBench.signing(data, count: options.signCount)
        detail(
            "raw Ed25519 signing on one core (\(grouped(options.signCount)) bodies of "
                + String(format: "%.0f", sign.bodyBytes) + " B): \(rate(sign.rate)) = "
                + String(format: "%.1f µs", 1e6 / sign.rate) + " per signature; CPU "
                + String(format: "%.2f cores", sign.cpu)
        )
        detail(
            "ceiling: one node's entries are signed one after the other (by one signer at a time, and necessarily: "
                + "each body names the previous entry's id, a hash over its signature), so appends cannot pass (3c) = "
                + "\(rate(sign.rate)) = \(times(sign.rate / single.rate)) of (2); CPU per append in (3): "
                + String(format: "%.1f µs", durable.cpu / Double(total) * 1e6)
        )
        let signShare = (1 / sign.rate) / (1 / noSync.rate)
        detail(
            "per append without syncs: " + String(format: "%.1f µs", 1e6 / noSync.rate) + " of wall time, of which "
                + String(format: "%.0f%%", signShare * 100)
                + " is signing (the rest: checks, encoding, two hashes, the view update, and handing each append between "
                + "threads)"
        )
        let log = try await GroupCommitBench.run(
            directory: scratch + "/segmented",
            writers: writers,
            perWriter: perWriter,
            recordSize: lastRecordBytes
        )
        detail(
            "SegmentedLog alone (no signing), same \(writers)×\(perWriter) load of \(lastRecordBytes)-byte records: "
                + "\(rate(log.rate)); \(grouped(Int(log.statistics.syncs))) syncs, "
                + "\(grouped(Int(log.statistics.groupCommits))) group commits, "
                + String(format: "%.1f records per sync", log.recordsPerSync)
        )
        let limit: String
        if durable.rate >= 0.8 * noSync.rate {
            limit = "CPU work per append (signing and the work around it), not fsync: durable ≈ no-sync"
        } else if log.rate >= 1.5 * durable.rate {
            limit = "fsync latency × batch size: the log alone commits faster than the store feeds it"
        } else {
            limit = "fsync: the log alone is no faster"
        }
        detail("limit: \(limit)")
        summary.add(
            Row(
                number: "3b",
                what: "  same load, .unsafeNoSync",
                figure: rate(noSync.rate),
                ratio: "(3) is \(times(durable.rate / noSync.rate))",
                goal: "(diagnostic)",
                cpu: noSync.busyCores
            )
        )
        summary.add(
            Row(
                number: "3c",
                what: "  raw Ed25519 sign, 1 core",
                figure: rate(sign.rate),
                ratio: "(3b) is \(times(noSync.rate / sign.rate))",
                goal: "(diagnostic)",
                cpu: sign.cpu,
                contended: starved(sign.cpu)
            )
        )
        summary.add(
            Row(
                number: "3d",
                what: "  SegmentedLog alone, \(writers) writers, durable",
                figure: "\(rate(log.rate)), " + String(format: "%.1f rec/sync", log.recordsPerSync),
                ratio: "\(times(log.rate / fsync.rate)) of (1)",
                goal: "(diagnostic)",
                cpu: log.cpu / log.elapsed
            )
        )
    }

    // MARK: 4. Verification

    /// Measures both Ed25519 verifiers on this machine; returns the fastest on all cores (the reference of 4c and 9b).
    mutating func measureVerify() -> VerifyBench.Result {
        section(
            "4a/b. Raw Ed25519 verification: libsodium (SignatureCheck.isValid, as audit verify calls it), swift-crypto"
        )
        let bodies = AppendBench.bodies(data, count: 1024)
        var results: [VerifyBench.Verifier: VerifyBench.Result] = [:]
        for verifier in VerifyBench.Verifier.allCases {
            let r = VerifyBench.run(bodies: bodies, seconds: options.verifySeconds, verifier: verifier)
            results[verifier] = r
            detail(
                "\(verifier.rawValue): one core \(rate(r.singleCore)), CPU " + String(format: "%.2f cores", r.singleCPU)
                    + "; \(r.workers) cores (DispatchQueue.concurrentPerform) \(rate(r.allCores)) = "
                    + "\(times(r.allCores / r.singleCore)) of one core, CPU " + String(format: "%.2f cores", r.allCPU)
            )
        }
        let sodium = results[.libsodium]!
        let swift = results[.swiftCrypto]!
        summary.add(
            Row(
                number: "4a",
                what: "raw Ed25519 verify (libsodium), 1 core",
                figure: rate(sodium.singleCore),
                ratio: "\(times(sodium.singleCore / swift.singleCore)) of swift-crypto's \(rate(swift.singleCore))",
                goal: "reference",
                cpu: sodium.singleCPU,
                contended: starved(sodium.singleCPU) || starved(swift.singleCPU)
            )
        )
        summary.add(
            Row(
                number: "4b",
                what: "raw Ed25519 verify (libsodium), \(sodium.workers) cores",
                figure: rate(sodium.allCores),
                ratio: "\(times(sodium.allCores / swift.allCores)) of swift-crypto's \(rate(swift.allCores))",
                goal: "reference",
                cpu: sodium.allCPU,
                contended: starved(sodium.singleCPU) || starved(sodium.allCPU, threads: Double(sodium.workers))
            )
        )
        return sodium.allCores >= swift.allCores ? sodium : swift
    }

    // MARK: 4–6. Generated logs

    /// Measures 4 (raw verification, then `audit verify` right after it, so both see the same machine load),
    /// 5 and 6 on generated logs.
    mutating func measureLogs() async throws {
        let big = scratch + "/big"
        if options.auditSize < options.entries {
            let audit = scratch + "/audit"
            section("4. Generating the audit log (\(grouped(options.auditSize)) entries, every entry signed)")
            let generated = try await LogBench.generate(data, into: audit, entries: options.auditSize)
            detail("generated in \(seconds(generated.elapsed)) (\(rate(generated.rate)))")
            let verify = measureVerify()
            try measureAudit(directory: audit, verify: verify)
            try FileManager.default.removeItem(atPath: audit)
        }
        section("6a. Generating a \(grouped(options.entries))-entry data directory (DemoLogGenerator)")
        let memory0 = Memory.current()
        let generated = try await LogBench.generate(data, into: big, entries: options.entries)
        generatedLog = big
        let memory1 = Memory.current()
        detail(
            "\(grouped(options.entries)) entries, \(megabytes(Double(generated.bytes) / 1e6)) of segments, in "
                + "\(seconds(generated.elapsed)): \(rate(generated.rate)) (one core signs every entry); CPU "
                + String(format: "%.2f cores", generated.cpu / generated.elapsed)
        )
        detail("coop-bench's own memory: before \(memory0); after \(memory1)")
        summary.add(
            Row(
                number: "6a",
                what: "generate \(grouped(options.entries)) entries (signs each)",
                figure: "\(rate(generated.rate)) (\(seconds(generated.elapsed)))",
                goal: "(setup)",
                cpu: generated.cpu / generated.elapsed,
                contended: starved(generated.cpu / generated.elapsed)
            )
        )
        if options.auditSize >= options.entries {
            let verify = measureVerify()
            try measureAudit(directory: big, verify: verify)
        }
        try measureReplay(directory: big)
        try measureOpen(directory: big)
    }

    mutating func measureAudit(directory: String, verify: VerifyBench.Result) throws {
        section("4c. audit verify (Auditor.verify: framing, chains, encodings, and every signature on all cores)")
        let r = try LogBench.audit(data, directory: directory)
        let ratio = r.rate / verify.allCores
        detail(
            "\(grouped(Int(r.entries))) entries in \(seconds(r.elapsed)): \(rate(r.rate)), log "
                + (r.intact ? "intact" : "NOT INTACT (the figure is suspect)") + "; CPU "
                + String(format: "%.2f", r.cpu / r.elapsed) + " of \(cores) cores busy"
        )
        detail("ratio to the raw \(verify.workers)-core verify rate (4b): \(times(ratio))")
        let perEntry = r.cpu / Double(max(1, r.entries))
        let perSignature = verify.singleCPU / verify.singleCore
        detail(
            String(
                format: "CPU per entry %.1f µs, of which %.1f µs is the signature check (4a) and %.1f µs the rest "
                    + "(decoding, canonical re-encoding, chains: one thread, between the signature batches)",
                perEntry * 1e6,
                perSignature * 1e6,
                (perEntry - perSignature) * 1e6
            )
        )
        let rest = max(0, perEntry - perSignature)
        detail(
            String(
                format: "ceiling: were that rest overlapped with the signature batches on all cores, audit could reach "
                    + "%.2f× of (4b); 0.9× needs the rest ≤ %.1f µs per entry",
                perSignature / (perSignature + rest),
                perSignature / 9 * 1e6
            )
        )
        summary.add(
            Row(
                number: "4c",
                what: "audit verify, \(grouped(Int(r.entries))) entries",
                figure: rate(r.rate),
                ratio: "\(times(ratio)) of (4b)",
                goal: "≥ 0.9× of (4b)",
                met: ratio >= 0.9,
                cpu: r.cpu / r.elapsed,
                contended: starved(verify.allCPU, threads: Double(verify.workers))
            )
        )
    }

    mutating func measureReplay(directory: String) throws {
        section("5. Replay without signature checks (LedgerReplay.view over the whole log)")
        var runs: [LogBench.Replay] = []
        let first = try LogBench.replay(data, directory: directory)
        runs.append(first)
        let child = try OpenBench.measure("replay", directory: directory)
        runs.append(
            LogBench.Replay(records: child.records, entries: first.entries, elapsed: child.open, cpu: child.cpu)
        )
        for (i, r) in runs.enumerated() {
            detail(
                "run \(i + 1)\(i == 0 ? "" : " (fresh child `coop-bench replay DIR`)"): \(grouped(Int(r.records))) "
                    + "records (\(grouped(r.entries)) entries in the view) in \(seconds(r.elapsed)): \(rate(r.rate)); "
                    + String(
                        format: "%.2f µs per record; CPU %.2f cores",
                        r.elapsed * 1e6 / Double(r.records),
                        r.cpu / r.elapsed
                    )
            )
        }
        detail("   child memory before replay: \(child.before); with the view built: \(child.after)")
        let best = runs.max { $0.rate < $1.rate }!
        summary.add(
            Row(
                number: "5",
                what: "replay, no signatures, \(grouped(Int(best.records))) entries",
                figure: "\(rate(best.rate)) (best of 2)",
                goal: "≥ 1,000,000/s",
                met: best.rate >= 1_000_000,
                cpu: best.cpu / best.elapsed,
                contended: starved(best.cpu / best.elapsed)
            )
        )
        let sample = min(options.entries, options.quick ? 20_000 : 30_000)
        let repeats = options.quick ? 3 : 5
        detail(
            "where the time goes: cumulative passes over the first \(grouped(sample)) records, in this thread's CPU "
                + "time (best of \(repeats)):"
        )
        let stages = try ReplayBreakdown.run(data, directory: directory, records: sample, repeats: repeats)
        var previous = 0.0
        for stage in stages {
            let increment = stage.name.hasPrefix("+") ? stage.microsPerRecord - previous : stage.microsPerRecord
            detail(
                String(format: "  %7.2f µs/record  (%+6.2f)  ", stage.microsPerRecord, increment) + stage.name
            )
            if !stage.name.contains("CRC") { previous = stage.microsPerRecord }
        }
    }

    mutating func measureOpen(directory: String) throws {
        section("6. LogStore.open of the \(grouped(options.entries))-entry log, in a fresh child `coop-bench open DIR`")
        for i in 1...2 {
            let r = try OpenBench.measure(directory: directory)
            let kind =
                r.checkpointBefore
                ? "a checkpoint file was present" : "no checkpoint file: full replay"
            detail(
                "open \(i) (\(kind)): \(grouped(Int(r.records))) records in \(seconds(r.open)); close "
                    + "\(seconds(r.close))" + (r.checkpointAfter ? " (left a checkpoint)" : "")
            )
            detail("   child memory before open: \(r.before); after open: \(r.after)")
            let label = i == 1 ? "6b" : "6d"
            let memoryLabel = i == 1 ? "6c" : "6e"
            let what = i == 1 ? "first open (\(kind))" : "reopen after a clean close"
            summary.add(
                Row(
                    number: label,
                    what: "\(what), \(grouped(Int(r.records)))",
                    figure: seconds(r.open),
                    ratio: String(format: "%.2f µs/record", r.open * 1e6 / Double(max(1, r.records))),
                    goal: "≤ 2 s",
                    met: r.open <= 2,
                    cpu: r.cpu / r.open,
                    contended: starved(r.cpu / r.open)
                )
            )
            summary.add(
                Row(
                    number: memoryLabel,
                    what: "  resident memory, child after open",
                    figure: "RSS \(megabytes(r.after.rss)), peak \(megabytes(r.after.hwm))",
                    ratio: "before open: \(megabytes(r.before.rss))",
                    goal: "peak ≤ 150 MB",
                    met: r.after.hwm <= 150
                )
            )
        }
    }
}
