import CoopRPC
import CoopZMQ

/// A server that a test can take away abruptly (as if its process died: on ZeroMQ its reactor is shut down, which
/// closes the ROUTER at once; in memory its transport is closed) and start again on the same address.
final class RPCRestartableServer: Sendable {
    let kind: RPCTransportKind
    let context: ZMQContext
    let network = RPCInMemoryNetwork()
    let clientReactor: ZMQReactor

    /// One incarnation of the server.
    struct Running: Sendable {
        let server: RPCServer
        let transport: any RPCServerTransport
        let reactor: ZMQReactor
        let task: Task<Void, any Error>
        let address: String
    }

    init(_ kind: RPCTransportKind) throws {
        precondition(kind != .inproc, "an inproc server cannot die on its own")
        self.kind = kind
        self.context = try ZMQContext()
        self.clientReactor = try ZMQReactor(context: context, name: "rpc-rs-cli")
    }

    /// Starts a server of `methods` on `address` (empty: a fresh one) and waits until it listens.
    func start(_ methods: [String: RPCMethod], at address: String = "") async throws -> Running {
        let reactor = try ZMQReactor(context: context, name: "rpc-rs-srv")
        let transport: any RPCServerTransport =
            kind == .inMemory
            ? RPCInMemoryServerTransport(network: network, address: address)
            : RPCZMQServerTransport(reactor: reactor, endpoint: address.isEmpty ? "tcp://127.0.0.1:0" : address)
        let server = RPCServer(transport: transport, methods: methods)
        let task = Task { try await server.run() }
        let bound = try await server.boundEndpoint()
        return Running(server: server, transport: transport, reactor: reactor, task: task, address: bound)
    }

    /// Takes the server away at once; its run() is cancelled (it still waits for its handlers, which the test
    /// releases).
    func kill(_ running: Running) async {
        if kind == .inMemory {
            await running.transport.close()
        } else {
            await running.reactor.shutdown()
        }
        running.task.cancel()
    }

    /// A client of `address`, connected, with heartbeats as given.
    func client(
        _ address: String,
        heartbeat: ZMQHeartbeat = .standard,
        retryPolicy: RPCRetryPolicy = .standard,
        connectTimeout: Duration = .seconds(10)
    ) async throws -> RPCClient {
        let transport: any RPCClientTransport =
            kind == .inMemory
            ? RPCInMemoryClientTransport(network: network, address: address)
            : RPCZMQClientTransport(reactor: clientReactor, endpoint: address, heartbeat: heartbeat)
        let client = RPCClient(transport: transport, retryPolicy: retryPolicy, connectTimeout: connectTimeout)
        try await client.connect()
        return client
    }

    func shutdown(_ runs: [Running]) async {
        for run in runs {
            run.task.cancel()
            _ = await run.task.result
            await run.reactor.shutdown()
        }
        await clientReactor.shutdown()
    }
}
