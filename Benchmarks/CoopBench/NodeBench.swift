import CoopLedger
import CoopProcess
import CoopRPC
import CoopServices
import CoopWire
import CoopZMQ
import Foundation
import Glibc
import Synchronization

/// A `coop node run --config FILE` child process of the release `coop` binary: its readiness line, resident memory
/// and CPU time, signals. Standard output and error go to files next to the configuration.
final class NodeChild {
    let process: SpawnedProcess
    let stdoutPath: String
    let stderrPath: String
    /// Monotonic time (``now()``) just before the spawn.
    let spawned: Double
    /// Wall-clock time just before the spawn (to compare with file modification times).
    let spawnedDate: Date
    private(set) var endpoint = ""
    /// The readiness line, once seen.
    private(set) var readyLine = ""
    /// Monotonic time at which the readiness line was first seen (polled every millisecond).
    private(set) var readyAt = Double.nan

    init(coop: String, config: String, name: String) throws {
        let directory = (config as NSString).deletingLastPathComponent
        stdoutPath = "\(directory)/\(name).out"
        stderrPath = "\(directory)/\(name).err"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        spawnedDate = Date()
        spawned = now()
        process = try SpawnedProcess(
            coop,
            ["node", "run", "--config", config],
            standardInput: .nullDevice,
            standardOutput: .file(stdoutPath),
            standardError: .file(stderrPath)
        )
    }

    var pid: Int32 { process.pid }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// Waits for the readiness line (`coop node ID ready: serving ENDPOINT …`); returns seconds from spawn to it.
    @discardableResult
    func ready(timeout: Double = 600) async throws -> Double {
        let deadline = now() + timeout
        while now() < deadline {
            if let data = FileManager.default.contents(atPath: stdoutPath), !data.isEmpty,
                let line = String(decoding: data, as: UTF8.self).split(separator: "\n").first(where: {
                    $0.contains(" ready: serving ")
                })
            {
                readyAt = now()
                readyLine = String(line)
                endpoint = String(line.split(separator: " ").first { $0.hasPrefix("tcp://") } ?? "")
                return readyAt - spawned
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(1))
        }
        throw BenchError("the node did not become ready (\(stdoutPath)); stderr:\n\(stderr.suffix(2000))")
    }

    /// "opened in S s" from the readiness line.
    var openSeconds: Double {
        guard let range = readyLine.range(of: "opened in ") else { return .nan }
        return Double(readyLine[range.upperBound...].prefix { $0.isNumber || $0 == "." }) ?? .nan
    }

    func signal(_ signal: Int32) { process.send(signal) }

    /// Waits for the process to end; its exit status, or `nil` after `timeout` seconds.
    @discardableResult
    func exit(timeout: Double = 60) async throws -> Int32? {
        let deadline = now() + timeout
        while process.isRunning && now() < deadline { try await Task.sleep(for: .milliseconds(5)) }
        return process.terminationStatus
    }

    /// SIGTERM, then SIGKILL if it has not ended within `timeout` seconds.
    func stop(timeout: Double = 30) async {
        guard process.isRunning else { return }
        signal(SIGTERM)
        if (try? await exit(timeout: timeout)) ?? nil == nil {
            signal(SIGKILL)
            _ = try? await exit(timeout: 10)
        }
    }

    /// VmRSS and VmHWM of the child from /proc/PID/status, in MB.
    func memory() -> Memory {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else {
            return Memory(rss: .nan, hwm: .nan)
        }
        func field(_ name: String) -> Double {
            for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
                let digits = line.dropFirst(name.count + 1).filter(\.isNumber)
                return (Double(String(digits)) ?? .nan) * 1024 / 1e6
            }
            return .nan
        }
        return Memory(rss: field("VmRSS"), hwm: field("VmHWM"))
    }

    /// Raw fields of /proc/PID/status, e.g. "RssAnon 20000 kB, RssFile 11000 kB".
    func statusFields(_ names: [String]) -> String {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return "n/a" }
        return names.map { name in
            let line = text.split(separator: "\n").first { $0.hasPrefix(name + ":") }
            let value = line.map { $0.dropFirst(name.count + 1).split(separator: " ").joined(separator: " ") } ?? "?"
            return "\(name) \(value)"
        }.joined(separator: ", ")
    }

    /// User + system CPU time of the child so far, in seconds (/proc/PID/stat).
    func cpuSeconds() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return .nan }
        // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return .nan }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

/// Section 8's helpers: the node's configuration, clients, load.
enum NodeBench {
    /// The node every measurement of 8 runs: a demo peer with keys in deploy/demo/keys.
    static let nodeID = "cq-shapingba"
    /// Its staff member (deploy/roster.json, keys in deploy/demo/keys).
    static let staff = "staff.shapingba"

    /// Writes `DIR/node.toml` for a node on `data` with the demo roster, catalog and keys; returns its path.
    static func writeConfig(
        _ reference: ReferenceData,
        directory: String,
        data: String,
        checkpointIdleMs: Int = 1000
    ) throws -> String {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let path = directory + "/node.toml"
        let text = """
            # coop-bench section 8: the demo node \(nodeID) on a scratch data directory.
            node_id = "\(nodeID)"
            listen = "tcp://127.0.0.1:0"
            data_dir = "\(data)"
            roster = "\(reference.root)/deploy/roster.json"
            catalog = "\(reference.root)/deploy/catalog.json"
            key_dir = "\(reference.root)/deploy/demo/keys"
            insecure = false

            [log]
            level = "info"
            format = "text"

            [durability]
            fsync = true
            checkpoint_idle_ms = \(checkpointIdleMs)

            """
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
            throw BenchError("\(path): cannot write the node configuration")
        }
        return path
    }

    /// Staff clients of the node at `endpoint`, each its own `RPCClient` (its own DEALER connection and CurveZMQ
    /// handshake), all on one client reactor.
    final class Clients {
        let reactor: ZMQReactor
        let endpoint: String
        let curve: RPCClientCurve
        private(set) var rpcs: [RPCClient] = []

        init(_ reference: ReferenceData, endpoint: String) throws {
            reactor = try ZMQReactor(context: try ZMQContext(), name: "bench-node-cli")
            self.endpoint = endpoint
            guard let server = reference.roster.member(nodeID) else { throw BenchError("\(nodeID) not in the roster") }
            let keys = try NodeKeys.read(name: staff, from: reference.root + "/deploy/demo/keys")
            curve = RPCClientCurve(
                serverPublicKey: server.curvePublicKey,
                publicKey: keys.curvePublicKey,
                secretKey: keys.curveSecretKey
            )
        }

        /// A new connected client; waits until it answers a `GetItem` (the handshake runs in the background).
        func ledger(item: String) async throws -> LedgerService.Client {
            let rpc = RPCClient(reactor: reactor, endpoint: endpoint, curve: curve)
            try await rpc.connect()
            rpcs.append(rpc)
            let ledger = LedgerService.Client(rpc)
            let deadline = now() + 20
            while true {
                do {
                    _ = try await ledger.getItem(
                        GetItemRequest(itemId: item),
                        options: RPCCallOptions(timeout: .seconds(5))
                    )
                    return ledger
                } catch {
                    guard now() < deadline else { throw BenchError("the node never answered GetItem: \(error)") }
                    try await Task.sleep(for: .milliseconds(20))
                }
            }
        }

        func close() async {
            for rpc in rpcs { await rpc.close() }
            rpcs = []
            await reactor.shutdown()
        }
    }

    static func update(item: String, client: Int, round: Int) -> UpdateStatusRequest {
        UpdateStatusRequest(
            itemId: item,
            status: .inProgress,
            progress: UInt32((client * 7 + round) % 100),
            note: "coop-bench 客户端 \(client) 第 \(round) 次更新",
            reporter: "coop-bench"
        )
    }

    struct LoadRun {
        /// Updates acknowledged inside the timed window.
        var acknowledged: Int
        var window: Double
        var errors: Int
        var firstError: String?
        var rate: Double { Double(acknowledged) / window }
    }

    /// Every client sends one `UpdateStatus` at a time, awaiting each, until `warmup + seconds` have passed; only
    /// acknowledgements that arrive after the warm-up count.
    static func load(
        _ ledgers: [LedgerService.Client],
        items: [String],
        warmup: Double,
        seconds: Double
    ) async -> LoadRun {
        let start = now()
        let t0 = start + warmup
        let end = t0 + seconds
        let results = await withTaskGroup(of: (Int, Int, String?).self) { group in
            for (index, ledger) in ledgers.enumerated() {
                group.addTask {
                    var counted = 0
                    var errors = 0
                    var first: String?
                    var round = 0
                    while now() < end {
                        round += 1
                        let item = items[(index + round) % items.count]
                        do {
                            _ = try await ledger.updateStatus(
                                update(item: item, client: index, round: round),
                                options: RPCCallOptions(timeout: .seconds(30))
                            )
                            let t = now()
                            if t >= t0 && t <= end { counted += 1 }
                        } catch {
                            errors += 1
                            first = first ?? "\(error)"
                            if errors > 10 { break }
                        }
                    }
                    return (counted, errors, first)
                }
            }
            var all: [(Int, Int, String?)] = []
            for await r in group { all.append(r) }
            return all
        }
        return LoadRun(
            acknowledged: results.reduce(0) { $0 + $1.0 },
            window: seconds,
            errors: results.reduce(0) { $0 + $1.1 },
            firstError: results.compactMap(\.2).first
        )
    }

    /// `count` updates one at a time on one client; each one's latency in seconds, ascending.
    static func sequential(_ ledger: LedgerService.Client, items: [String], count: Int) async throws -> [Double] {
        var latencies: [Double] = []
        latencies.reserveCapacity(count)
        for round in 0..<count {
            let item = items[round % items.count]
            let start = now()
            _ = try await ledger.updateStatus(
                update(item: item, client: 0, round: round),
                options: RPCCallOptions(timeout: .seconds(30))
            )
            latencies.append(now() - start)
        }
        return latencies.sorted()
    }

    /// `count` `GetItem` round trips one at a time; each one's latency in seconds, ascending.
    static func reads(_ ledger: LedgerService.Client, items: [String], count: Int) async throws -> [Double] {
        var latencies: [Double] = []
        latencies.reserveCapacity(count)
        for round in 0..<count {
            let request = GetItemRequest(itemId: items[round % items.count])
            let start = now()
            _ = try await ledger.getItem(request, options: RPCCallOptions(timeout: .seconds(30)))
            latencies.append(now() - start)
        }
        return latencies.sorted()
    }

    /// Modification time of `path`, or `nil` when it is not there.
    static func modified(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }

    /// The release `coop` binary: `--coop PATH`, else `$COOP_BENCH_COOP`, else `coop` next to this executable
    /// (scripts/run-benchmarks.sh builds both into .build-release).
    static func coopPath(_ options: BenchOptions) throws -> String {
        let candidates = [
            options.coop,
            ProcessInfo.processInfo.environment["COOP_BENCH_COOP"],
            try? ((OpenBench.executablePath() as NSString).deletingLastPathComponent + "/coop"),
        ]
        for case let path? in candidates where !path.isEmpty {
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw BenchError(
            "cannot find the coop binary for section 8: build it (swift build -c release --scratch-path "
                + ".build-release --product coop) or pass --coop PATH (scripts/run-benchmarks.sh does both)"
        )
    }
}
