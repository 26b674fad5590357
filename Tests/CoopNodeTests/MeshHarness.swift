import CoopDevTools
import CoopLedger
import CoopNode
import CoopRPC
import CoopServices
import CoopTestKit
import CoopWire
import CoopZMQ
import Foundation
import Logging
import Synchronization

/// The three-district mesh of `coop dev mesh` (peering on) in a private temporary directory, its nodes running in
/// this process over real ZeroMQ (tcp on 127.0.0.1, CurveZMQ, head notices on PUB/SUB); nodes can be stopped and
/// started again, and clients connect as any member.
final class MeshHarness: Sendable {
    let directory: TemporaryDirectory
    let mesh: MeshWriter.Mesh
    let roster: RosterBook
    let catalog: CatalogBook
    private let configure: @Sendable (inout NodeConfig) -> Void
    private let running = Mutex<[String: Task<Void, any Error>]>([:])
    private let reactor: ZMQReactor
    private let clients = Mutex<[RPCClient]>([])

    static let nodes = MeshWriter.districts.map(\.nodeID)

    init(configure: @escaping @Sendable (inout NodeConfig) -> Void = { _ in }) throws {
        directory = try TemporaryDirectory("coop-mesh")
        mesh = try MeshWriter(directory: directory.file("mesh"), catalogPath: Fixtures.catalogPath).write()
        roster = try RosterBook.load(path: "\(mesh.directory)/roster.json")
        catalog = try CatalogBook.load(path: "\(mesh.directory)/catalog.json", roster: roster)
        self.configure = configure
        reactor = try ZMQReactor(context: try ZMQContext(), name: "mesh-clients")
    }

    /// Starts `nodeID` (its config as written, a fast anti-entropy round, quick idle checkpoints); returns once it
    /// serves.
    func start(_ nodeID: String) async throws {
        var config = try NodeConfig.load(path: mesh.configs[nodeID]!)
        config.checkpointIdleMs = 50
        config.antiEntropyMs = 300
        configure(&config)
        let (ready, readyContinuation) = AsyncStream<String>.makeStream()
        var logger = Logger(label: "test.mesh.\(nodeID)")
        logger.logLevel = ProcessInfo.processInfo.environment["COOP_TEST_NODE_LOG"] == nil ? .critical : .info
        let node = LedgerNode(config: config, logger: logger) { readyContinuation.yield($0.endpoint) }
        let task = Task {
            defer { readyContinuation.finish() }
            try await node.run()
        }
        var iterator = ready.makeAsyncIterator()
        guard await iterator.next() != nil else {
            try await task.value
            throw NodeError(code: .endpoint, message: "\(nodeID) stopped before it was ready")
        }
        running.withLock { $0[nodeID] = task }
    }

    func startAll() async throws {
        for node in Self.nodes { try await start(node) }
    }

    /// Stops `nodeID` as SIGTERM would (drain, close the log); throws what it threw.
    func stop(_ nodeID: String) async throws {
        guard let task = running.withLock({ $0.removeValue(forKey: nodeID) }) else { return }
        task.cancel()
        try await task.value
    }

    func stopAll() async throws {
        var failure: (any Error)?
        for node in Self.nodes {
            do { try await stop(node) } catch { failure = failure ?? error }
        }
        for client in clients.withLock({ $0 }) { await client.close() }
        await reactor.shutdown()
        if let failure { throw failure }
    }

    func dataDirectory(_ nodeID: String) -> String { "\(mesh.directory)/data/\(nodeID)" }

    /// A connected client of `nodeID` authenticated as `member` (keys from the mesh: staff, auditors, or a peer's).
    func client(_ nodeID: String, as member: String) async throws -> RPCClient {
        let client = try await Self.connect(reactor, mesh: mesh, roster: roster, node: nodeID, as: member)
        clients.withLock { $0.append(client) }
        return client
    }

    /// A connected client of `node` of `mesh`, authenticated as `member` with its keys from the mesh.
    static func connect(
        _ reactor: ZMQReactor,
        mesh: MeshWriter.Mesh,
        roster: RosterBook,
        node: String,
        as member: String
    ) async throws -> RPCClient {
        try await mesh.client(on: reactor, roster: roster, node: node, as: member)
    }

    /// The staff member of a node's district (`staff.wuhou` for `cd-wuhou`).
    static func staff(_ nodeID: String) -> String {
        "staff." + MeshWriter.districts.first { $0.nodeID == nodeID }!.short
    }

    static func auditor(_ nodeID: String) -> String {
        "auditor." + MeshWriter.districts.first { $0.nodeID == nodeID }!.short
    }

    /// Catalog items `nodeID` takes part in.
    func items(of nodeID: String) -> [String] {
        catalog.items.filter { $0.participants.contains(nodeID) }.map(\.id)
    }

    /// Every node's view (item states, in catalog order) and digests, read through RPC as its auditor and as a
    /// peer.
    func snapshot(_ nodeID: String) async throws -> (states: [ItemState], digests: [OriginDigest]) {
        let ledger = LedgerService.Client(try await client(nodeID, as: Self.auditor(nodeID)))
        let listed = try await ledger.listItems(ListItemsRequest(), options: testCall)
        let other = Self.nodes.first { $0 != nodeID }!
        let sync = SyncService.Client(try await client(nodeID, as: other))
        let digests = try await sync.digest(DigestRequest(), options: testCall)
        return (listed.items.compactMap(\.state), digests.origins)
    }

    /// Waits (up to `timeout`) until every running node in `nodes` shows the same states and digests; returns them,
    /// or throws naming how they differ.
    @discardableResult
    func converged(
        _ nodes: [String] = MeshHarness.nodes,
        timeout: Duration = .seconds(60)
    ) async throws -> (states: [ItemState], digests: [OriginDigest]) {
        let deadline = ContinuousClock.now + timeout
        while true {
            var snapshots: [(states: [ItemState], digests: [OriginDigest])] = []
            for node in nodes { snapshots.append(try await snapshot(node)) }
            let first = snapshots[0]
            if snapshots.allSatisfy({ $0.states == first.states && $0.digests == first.digests }) { return first }
            if ContinuousClock.now > deadline {
                let shown = zip(nodes, snapshots).map { node, s in
                    "\(node): " + s.digests.map { "\($0.origin)#\($0.sequence)/e\($0.evidence)" }.joined(separator: " ")
                }
                throw NodeError(
                    code: .io,
                    message: "no convergence within \(timeout): " + shown.joined(separator: "; ")
                )
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
