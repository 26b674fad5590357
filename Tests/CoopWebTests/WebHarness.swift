import CoopDevTools
import CoopLedger
import CoopLog
import CoopNode
import CoopRPC
import CoopServices
import CoopTestKit
import CoopWeb
import CoopZMQ
import Foundation
import Logging
import Synchronization

/// A standalone mesh in a private temporary directory and one node of it running in this process over real ZeroMQ,
/// with its HTTP listener on 127.0.0.1, port 0 (the port bound is read back from the readiness report). The wall
/// clock of the listener is the test's: ``clock``.
final class WebHarness: Sendable {
    let directory: TemporaryDirectory
    let mesh: MeshWriter.Mesh
    let nodeID: String
    let endpoint: String
    /// `http://127.0.0.1:PORT`.
    let web: String
    let roster: RosterBook
    /// Milliseconds since the Unix epoch that the listener takes as now.
    let clock: Mutex<UInt64>
    private let task: Task<Void, any Error>
    private let reactor: ZMQReactor
    private let clients = Mutex<[RPCClient]>([])

    /// 2026-06-01T00:00:00Z: after CY-01's due date (2025-12-31), before CY-02's (2027-12-31).
    static let june2026: UInt64 = 1_780_272_000_000

    private init(
        directory: TemporaryDirectory,
        mesh: MeshWriter.Mesh,
        nodeID: String,
        endpoint: String,
        web: String,
        clock: UInt64,
        task: Task<Void, any Error>,
        reactor: ZMQReactor
    ) throws {
        self.directory = directory
        self.mesh = mesh
        self.nodeID = nodeID
        self.endpoint = endpoint
        self.web = web
        self.clock = Mutex(clock)
        self.task = task
        self.reactor = reactor
        self.roster = try RosterBook.load(path: "\(mesh.directory)/roster.json")
    }

    /// Writes a mesh and starts `nodeID` of it with `[http]` on 127.0.0.1:0; returns once it serves.
    static func start(
        _ nodeID: String = "cd-wuhou",
        now: UInt64 = june2026,
        metrics: Bool = true,
        staleDays: Int = 14,
        port: Int = 0,
        keepaliveSeconds: Int = 15,
        replayGate: ReplayGate = .shared,
        prepare: (NodeConfig, MeshWriter.Mesh) async throws -> Void = { _, _ in }
    ) async throws -> WebHarness {
        let directory = try TemporaryDirectory("coop-web")
        let mesh = try MeshWriter(directory: directory.file("mesh"), catalogPath: Fixtures.catalogPath, peering: false)
            .write()
        var config = try NodeConfig.load(path: mesh.configs[nodeID]!)
        config.listen = "tcp://127.0.0.1:0"
        config.checkpointIdleMs = 50
        config.http = NodeConfig.HTTP(
            host: "127.0.0.1",
            port: port,
            staleDays: staleDays,
            metrics: metrics,
            keepaliveSeconds: keepaliveSeconds
        )
        try await prepare(config, mesh)
        let clock = Mutex(now)
        let box = ClockBox()
        var logger = Logger(label: "test.web")
        logger.logLevel = .critical
        let server = WebServer(settings: config.http!, logger: logger, now: { box.read() })
        let (ready, readyContinuation) = AsyncStream<LedgerNode.Readiness>.makeStream()
        let node = LedgerNode(
            config: config,
            logger: logger,
            metrics: server.nodeMetrics,
            companions: [server],
            replayGate: replayGate
        ) {
            readyContinuation.yield($0)
        }
        let task = Task {
            defer { readyContinuation.finish() }
            try await node.run()
        }
        var iterator = ready.makeAsyncIterator()
        guard let readiness = await iterator.next(), let web = readiness.companions.first else {
            try await task.value
            throw NodeError(code: .endpoint, message: "the node stopped before it was ready")
        }
        let reactor = try ZMQReactor(context: try ZMQContext(), name: "test-clients")
        let harness = try WebHarness(
            directory: directory,
            mesh: mesh,
            nodeID: nodeID,
            endpoint: readiness.endpoint,
            web: web,
            clock: clock.withLock { $0 },
            task: task,
            reactor: reactor
        )
        box.set { harness.clock.withLock { $0 } }
        return harness
    }

    /// Starts a node, runs `body` with it, and stops it (also when `body` throws).
    static func run(
        now: UInt64 = june2026,
        metrics: Bool = true,
        staleDays: Int = 14,
        keepaliveSeconds: Int = 15,
        _ body: (WebHarness) async throws -> Void
    ) async throws {
        let node = try await start(now: now, metrics: metrics, staleDays: staleDays, keepaliveSeconds: keepaliveSeconds)
        do {
            try await body(node)
        } catch {
            try? await node.stop()
            throw error
        }
        try await node.stop()
    }

    /// An RPC client of the node authenticated as `member` (its keys from the mesh).
    func rpcClient(as member: String) async throws -> RPCClient {
        let client = try await MeshWriter.client(
            on: reactor,
            endpoint: endpoint,
            roster: roster,
            node: nodeID,
            as: member,
            keys: "\(mesh.directory)/keys"
        )
        clients.withLock { $0.append(client) }
        return client
    }

    /// A ledger client authenticated as `member` (its keys from the mesh).
    func ledger(as member: String = "staff.wuhou") async throws -> LedgerService.Client {
        LedgerService.Client(try await rpcClient(as: member))
    }

    func get(_ path: String) async throws -> HTTPProbe.Answer { try await HTTPProbe.get(web, path) }

    /// Stops the node (as SIGTERM would), then the clients; throws what the node threw.
    func stop() async throws {
        task.cancel()
        let outcome = await task.result
        for client in clients.withLock({ $0 }) { await client.close() }
        await reactor.shutdown()
        try outcome.get()
    }
}

/// The listener's clock, pointed at the harness once it exists.
final class ClockBox: Sendable {
    /// In a struct: a `Mutex` whose value is a function type would wrap it in two more thunks on every access.
    private struct Source { let read: @Sendable () -> UInt64 }
    private let source = Mutex<Source?>(nil)
    func set(_ read: @escaping @Sendable () -> UInt64) { source.withLock { $0 = Source(read: read) } }
    func read() -> UInt64 { source.withLock { $0 }?.read() ?? WebHarness.june2026 }
}

/// Call options for tests: a generous deadline (the machine is shared).
let testCall = RPCCallOptions(timeout: .seconds(60))
