import CoopServices
import Foundation
import Glibc

extension CoopBench {
    // MARK: 8. Node

    /// Section 8: a real `coop node run` child of the release `coop` binary (see docs/BENCHMARKS.md): raw signing
    /// (8a), durable updates through the node from 32 clients (8b), one client's update latency (8c), the idle
    /// node's memory (8d) and the restart of a node with a large log after SIGKILL (8e).
    mutating func measureNode() async throws {
        let coop = try NodeBench.coopPath(options)
        section("8. The node: `coop node run` (\(coop)) as a child process; clients in this process over CurveZMQ")
        detail(
            "node \(NodeBench.nodeID) with the demo roster, catalog and keys (deploy/), [durability] fsync = true, "
                + "[log] level = info (every write is logged, as deployed); clients are \(NodeBench.staff)"
        )
        let sign = measureNodeSigning()
        let directory = scratch + "/node"
        let config = try NodeBench.writeConfig(data, directory: directory, data: directory + "/data")
        let node = try NodeChild(coop: coop, config: config, name: "node")
        do {
            let startup = try await node.ready(timeout: 120)
            detail("empty log: ready \(seconds(startup)) after spawn: \(node.readyLine)")
            try await measureIdleMemory(node)
            try await measureUpdates(node, sign: sign, dataDirectory: directory + "/data")
        } catch {
            await node.stop()
            throw error
        }
        await node.stop()
        try await measureRestart(coop: coop)
    }

    /// 8a: raw Ed25519 signing on one core, the bodies the node's appends sign.
    mutating func measureNodeSigning() -> Double {
        let sign = AppendBench.signing(data, count: options.signCount)
        detail(
            "8a raw Ed25519 signing, one core (`NodeKeys.makeSigner().sign`, \(grouped(options.signCount)) bodies of "
                + String(format: "%.0f B", sign.bodyBytes) + ", best of 3): \(rate(sign.rate)) = "
                + String(format: "%.1f µs", 1e6 / sign.rate) + " per signature"
        )
        summary.add(
            Row(
                number: "8a",
                what: "raw Ed25519 sign, 1 core (" + String(format: "%.0f B", sign.bodyBytes) + " bodies)",
                figure: rate(sign.rate),
                goal: "reference",
                cpu: sign.cpu,
                contended: starved(sign.cpu)
            )
        )
        return sign.rate
    }

    /// 8d: resident memory of the node with an empty log, a few seconds after it is ready.
    mutating func measureIdleMemory(_ node: NodeChild) async throws {
        let settle = options.quick ? 2.0 : 4.0
        try await Task.sleep(for: .seconds(settle))
        let memory = node.memory()
        detail(
            "8d idle node, empty log, \(String(format: "%.0f", settle)) s after ready: \(memory) "
                + "(/proc/\(node.pid)/status); of it: \(node.statusFields(["RssAnon", "RssFile", "Threads"]))"
        )
        summary.add(
            Row(
                number: "8d",
                what: "idle node, empty log: resident memory",
                figure: "VmRSS \(megabytes(memory.rss))",
                ratio: "peak \(megabytes(memory.hwm))",
                goal: "≤ 25 MB",
                met: memory.rss <= 25
            )
        )
    }

    /// 8c (one client, one update at a time) then 8b (32 clients for a bounded time) on the running node.
    mutating func measureUpdates(_ node: NodeChild, sign: Double, dataDirectory: String) async throws {
        let items = data.items(of: NodeBench.nodeID)
        let clients = try NodeBench.Clients(data, endpoint: node.endpoint)
        do {
            // 8c: latency of one update at a time, against fsync in the node's own directory + an RPC round trip.
            let one = try await clients.ledger(item: items[0])
            let sequentialCount = options.quick ? 300 : 1500
            let sequentialTotal = sequentialCount
            let readCount = options.quick ? 1000 : 3000
            _ = try await NodeBench.sequential(one, items: items, count: 50)
            _ = try await NodeBench.reads(one, items: items, count: 200)
            let reads = try await NodeBench.reads(one, items: items, count: readCount)
            // Rounds alternating the fsync loop and the updates, so that both see the same disk and machine load.
            let rounds = 3
            var latencies: [Double] = []
            var syncs: [Double] = []
            var wall = 0.0
            var nodeCPU = 0.0
            for _ in 0..<rounds {
                let probe = try FsyncBench.run(directory: dataDirectory, seconds: options.quick ? 0.4 : 0.8)
                syncs += probe.latencies
                let nodeCPU0 = node.cpuSeconds()
                let (round, elapsed) = try await timedAsync {
                    try await NodeBench.sequential(one, items: items, count: sequentialCount / rounds)
                }
                nodeCPU += node.cpuSeconds() - nodeCPU0
                wall += elapsed
                latencies += round
            }
            latencies.sort()
            syncs.sort()
            let fsync = FsyncResult(
                operations: syncs.count,
                elapsed: syncs.reduce(0, +),
                p50: quantile(syncs, 0.5),
                p99: quantile(syncs, 0.99)
            )
            precondition(latencies.count == sequentialTotal / rounds * rounds)
            let p50 = quantile(latencies, 0.5)
            let p99 = quantile(latencies, 0.99)
            let getItem = quantile(reads, 0.5)
            let roundTrip = curveUnaryP50 ?? getItem
            let roundTripSource = curveUnaryP50 != nil ? "7d CoopRPC unary over CurveZMQ" : "GetItem on this node"
            let bound = fsync.p50 + roundTrip
            let ratio = p50 / bound
            detail(
                "8c one client, one UpdateStatus at a time: \(grouped(latencies.count)) updates in \(seconds(wall)) "
                    + "(\(rate(Double(latencies.count) / wall))), in \(rounds) rounds alternating with the fsync loop: "
                    + "p50 \(millis(p50)), p99 \(millis(p99)); node CPU "
                    + String(format: "%.0f µs per update", nodeCPU / Double(latencies.count) * 1e6)
            )
            detail(
                "   fsync in the node's data directory (256 B append + fdatasync, \(grouped(fsync.operations)) syncs): "
                    + "p50 \(millis(fsync.p50)), p99 \(millis(fsync.p99)); GetItem round trip on this node "
                    + "(\(grouped(readCount)) calls): p50 \(millis(getItem)), p99 \(millis(quantile(reads, 0.99)))"
                    + (curveUnaryP50.map { "; 7d unary p50 \(millis($0))" } ?? "")
            )
            detail(
                "   fsync p50 + round trip p50 (\(roundTripSource)) = \(millis(bound)); the update's p50 is "
                    + "\(times(ratio)) of it, \(p50 >= bound ? "+" : "")\(millis(p50 - bound)) (signing, checks, the log's writer queue, the "
                    + "info log line, scheduling across two processes)"
            )
            summary.add(
                Row(
                    number: "8c",
                    what: "1 client, 1 update at a time, p50/p99",
                    figure: "p50 \(millis(p50)), p99 \(millis(p99))",
                    ratio: "p50 \(times(ratio)) of fsync+RPC \(millis(bound))",
                    goal: "p50 ≤ 1.2× of fsync+RPC",
                    met: ratio <= 1.2
                )
            )

            // 8b: 32 clients, each its own connection, each one update in flight.
            let count = options.writers
            var ledgers = [one]
            while ledgers.count < count { ledgers.append(try await clients.ledger(item: items[ledgers.count % 4])) }
            let warmup = options.quick ? 0.5 : 1.0
            let window = options.quick ? 3.0 : 8.0
            let nodeLoadCPU0 = node.cpuSeconds()
            let benchCPU0 = cpuTime()
            let (run, loadWall) = await timedAsync {
                await NodeBench.load(ledgers, items: items, warmup: warmup, seconds: window)
            }
            let nodeCores = (node.cpuSeconds() - nodeLoadCPU0) / loadWall
            let clientCores = (cpuTime() - benchCPU0) / loadWall
            let loaded = node.memory()
            let ratio8b = run.rate / sign
            detail(
                "8b \(count) clients (each its own RPCClient connection), one UpdateStatus in flight each, "
                    + "\(String(format: "%.0f", window)) s timed after \(String(format: "%.1f", warmup)) s warm-up: "
                    + "\(grouped(run.acknowledged)) acknowledged = \(rate(run.rate)); \(times(ratio8b)) of 8a; "
                    + "\(run.errors) errors" + (run.firstError.map { " (first: \($0))" } ?? "")
            )
            detail(
                "   cores busy: node " + String(format: "%.2f", nodeCores) + ", coop-bench (the 32 clients) "
                    + String(format: "%.2f", clientCores) + " of \(cores); node CPU per update "
                    + String(format: "%.0f µs", nodeCores * loadWall / Double(max(1, run.acknowledged)) * 1e6)
                    + " (signing alone: " + String(format: "%.1f µs", 1e6 / sign) + "); node memory after: \(loaded)"
            )
            summary.add(
                Row(
                    number: "8b",
                    what: "node, \(count) clients, durable updates",
                    figure: rate(run.rate),
                    ratio: "\(times(ratio8b)) of (8a)",
                    goal: "≥ 0.8× of (8a)",
                    met: ratio8b >= 0.8,
                    cpu: nodeCores + clientCores
                )
            )
        } catch {
            await clients.close()
            throw error
        }
        await clients.close()
    }

    /// 8e: a node with a large log, SIGKILLed after its idle checkpoint; seconds from spawn to ready on restart.
    mutating func measureRestart(coop: String) async throws {
        let entries = options.entries
        let directory = scratch + "/node-big"
        let dataDirectory: String
        if let existing = generatedLog, FileManager.default.fileExists(atPath: existing + "/log") {
            dataDirectory = existing
            detail("8e the \(grouped(entries))-entry log generated in 6a: \(existing)")
        } else {
            dataDirectory = directory + "/data"
            note("   8e: generating a \(grouped(entries))-entry log")
            let generated = try await LogBench.generate(data, into: dataDirectory, entries: entries)
            detail(
                "8e generated a \(grouped(entries))-entry log (DemoLogGenerator) in \(seconds(generated.elapsed))"
            )
        }
        // The first start replays the whole log, then writes its idle checkpoint.
        let checkpoint = dataDirectory + "/checkpoint"
        try? FileManager.default.removeItem(atPath: checkpoint)
        let config = try NodeBench.writeConfig(data, directory: directory, data: dataDirectory, checkpointIdleMs: 500)
        let first = try NodeChild(coop: coop, config: config, name: "node-first")
        let firstReady: Double
        let checkpointAfter: Double
        do {
            firstReady = try await first.ready(timeout: 900)
            let deadline = now() + 300
            while true {
                if let date = NodeBench.modified(checkpoint), date > first.spawnedDate { break }
                guard now() < deadline, first.process.isRunning else {
                    throw BenchError("the node wrote no idle checkpoint; stderr:\n\(first.stderr.suffix(2000))")
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            checkpointAfter = now() - first.readyAt
        } catch {
            await first.stop()
            throw error
        }
        first.signal(SIGKILL)
        try await first.exit()
        detail(
            "   first start (no checkpoint: full replay): ready \(seconds(firstReady)) after spawn: "
                + "\(first.readyLine)"
        )
        detail("   its idle checkpoint was there \(seconds(checkpointAfter)) after ready; then SIGKILL")

        let second = try NodeChild(coop: coop, config: config, name: "node-restart")
        let restart: Double
        let memory: Memory
        do {
            restart = try await second.ready(timeout: 600)
            memory = second.memory()
        } catch {
            await second.stop()
            throw error
        }
        await second.stop()
        detail(
            "   restart after SIGKILL: ready \(seconds(restart)) after spawn (the node's own open: "
                + "\(seconds(second.openSeconds))): \(second.readyLine)"
        )
        detail("   restarted node's memory at ready: \(memory)")
        summary.add(
            Row(
                number: "8e",
                what: "restart after SIGKILL, \(grouped(entries))-entry log",
                figure: "\(seconds(restart)) spawn → ready",
                ratio: "open \(seconds(second.openSeconds)); full replay \(seconds(firstReady))",
                goal: "≤ 2 s",
                met: restart <= 2
            )
        )
    }
}
