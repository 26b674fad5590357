import CoopDevTools
import CoopLedger
import CoopLog
import CoopNode
import CoopRPC
import CoopServices
import CoopTestKit
import CoopZMQ
import Logging
import Synchronization

/// A mesh in a private temporary directory and one node of it running in this process over real ZeroMQ (tcp on
/// 127.0.0.1, CurveZMQ), with clients that connect as any member of the mesh.
final class NodeHarness: Sendable {
    let directory: TemporaryDirectory
    let mesh: MeshWriter.Mesh
    let nodeID: String
    let endpoint: String
    let roster: RosterBook
    private let task: Task<Void, any Error>
    private let reactor: ZMQReactor
    private let clients = Mutex<[RPCClient]>([])

    private init(
        directory: TemporaryDirectory,
        mesh: MeshWriter.Mesh,
        nodeID: String,
        endpoint: String,
        task: Task<Void, any Error>,
        reactor: ZMQReactor
    ) throws {
        self.directory = directory
        self.mesh = mesh
        self.nodeID = nodeID
        self.endpoint = endpoint
        self.task = task
        self.reactor = reactor
        self.roster = try RosterBook.load(path: "\(mesh.directory)/roster.json")
    }

    /// Writes a mesh and starts `nodeID` of it; returns once it serves.
    static func start(
        _ nodeID: String = "cd-wuhou",
        replayGate: ReplayGate = .shared,
        configure: (inout NodeConfig) -> Void = { _ in }
    ) async throws
        -> NodeHarness
    {
        let directory = try TemporaryDirectory("coop-node")
        let mesh = try MeshWriter(directory: directory.file("mesh"), catalogPath: Fixtures.catalogPath, peering: false)
            .write()
        var config = try NodeConfig.load(path: mesh.configs[nodeID]!)
        config.listen = "tcp://127.0.0.1:0"
        config.checkpointIdleMs = 50
        configure(&config)
        let (ready, readyContinuation) = AsyncStream<String>.makeStream()
        var logger = Logger(label: "test.node")
        logger.logLevel = .critical
        let node = LedgerNode(config: config, logger: logger, replayGate: replayGate) {
            readyContinuation.yield($0.endpoint)
        }
        let task = Task {
            defer { readyContinuation.finish() }
            try await node.run()
        }
        var iterator = ready.makeAsyncIterator()
        guard let endpoint = await iterator.next() else {
            try await task.value
            throw NodeError(code: .endpoint, message: "the node stopped before it was ready")
        }
        let reactor = try ZMQReactor(context: try ZMQContext(), name: "test-clients")
        return try NodeHarness(
            directory: directory,
            mesh: mesh,
            nodeID: nodeID,
            endpoint: endpoint,
            task: task,
            reactor: reactor
        )
    }

    /// A connected client authenticated as `member` (its keys from the mesh).
    func client(as member: String) async throws -> RPCClient {
        let keys = try NodeKeys.read(name: member, from: "\(mesh.directory)/keys")
        let server = roster.member(nodeID)!.curvePublicKey
        let client = RPCClient(
            reactor: reactor,
            endpoint: endpoint,
            curve: RPCClientCurve(
                serverPublicKey: server,
                publicKey: keys.curvePublicKey,
                secretKey: keys.curveSecretKey
            )
        )
        try await client.connect()
        clients.withLock { $0.append(client) }
        return client
    }

    func ledger(as member: String) async throws -> LedgerService.Client {
        LedgerService.Client(try await client(as: member))
    }

    /// Stops the node (as SIGTERM would: it drains and closes the log), then the clients; throws what the node
    /// threw.
    func stop() async throws {
        task.cancel()
        let outcome = await task.result
        for client in clients.withLock({ $0 }) { await client.close() }
        await reactor.shutdown()
        try outcome.get()
    }

    var dataDirectory: String { "\(mesh.directory)/data/\(nodeID)" }
}

/// Call options for tests: a generous deadline (the machine is shared), so no call can hang a test.
let testCall = RPCCallOptions(timeout: .seconds(60))
