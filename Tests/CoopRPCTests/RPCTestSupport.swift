import CoopRPC
import CoopZMQ
import Dispatch
import Synchronization
import Testing

/// The transports every RPC scenario runs over: in memory (no sockets), and real ZeroMQ over inproc and over tcp on
/// 127.0.0.1 port 0; and tcp once more with the server's handlers and the fixture's client calls on the reactors
/// (``RPCServer/HandlerExecution/direct``, ``RPCClient/transportExecutor``).
enum RPCTransportKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case inMemory
    case inproc
    case tcp
    case tcpDirect

    var testDescription: String { rawValue }

    /// The ZeroMQ kinds only.
    static let zmq: [RPCTransportKind] = [.inproc, .tcp, .tcpDirect]

    /// Over tcp (plain or direct).
    var isTCP: Bool { self == .tcp || self == .tcpDirect }

    /// A server transport of this kind: in memory on `network`, ZeroMQ inproc at a fresh `inproc://NAME-…` endpoint,
    /// or tcp on 127.0.0.1 port 0, its socket on `reactor`.
    func serverTransport(
        reactor: ZMQReactor,
        network: RPCInMemoryNetwork,
        name: String,
        sendHighWaterMark: Int32? = nil
    ) -> any RPCServerTransport {
        switch self {
        case .inMemory:
            RPCInMemoryServerTransport(network: network)
        case .inproc:
            RPCZMQServerTransport(
                reactor: reactor,
                endpoint: "inproc://\(name)-\(UInt64.random(in: 0...UInt64.max))",
                sendHighWaterMark: sendHighWaterMark
            )
        case .tcp, .tcpDirect:
            RPCZMQServerTransport(reactor: reactor, endpoint: "tcp://127.0.0.1:0", sendHighWaterMark: sendHighWaterMark)
        }
    }
}

/// The deadline and wait limit of calls and events that should come at once: only a hang reaches it, never a slow
/// or starved machine (in a full `swift test` run on two cores, other suites can hold the test pool for minutes).
let patient: Duration = .seconds(900)

/// A test waited longer than it allows for something that should have happened.
struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Waits, re-checking after every pause, until `condition` holds; fails after `limit`. For state that changes on
/// another thread (a server's calls in flight, a handler that saw cancellation).
func eventually(
    _ what: String,
    limit: Duration = patient,
    _ condition: @escaping @Sendable () -> Bool
) async throws {
    let start = ContinuousClock.now
    while !condition() {
        if ContinuousClock.now - start > limit {
            // One more look after a starved wait.
            if condition() { return }
            throw TimedOut(what: what)
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// A value that arrives later from another thread, awaited with a limit.
final class Inbox<Value: Sendable>: Sendable {
    private struct State {
        var queue: [Value] = []
        var waiter: CheckedContinuation<Value?, Never>?
        var waiterID = 0
    }

    private let state = Mutex(State())

    func put(_ value: Value) {
        let waiter: CheckedContinuation<Value?, Never>? = state.withLock { s in
            if let waiter = s.waiter {
                s.waiter = nil
                return waiter
            }
            s.queue.append(value)
            return nil
        }
        waiter?.resume(returning: value)
    }

    var count: Int { state.withLock { $0.queue.count } }

    /// The next value; throws ``TimedOut`` after `limit`.
    func next(limit: Duration = patient, _ what: String = "a message") async throws -> Value {
        let value: Value? = await withCheckedContinuation { continuation in
            let (ready, id): (Value?, Int) = state.withLock { s in
                if !s.queue.isEmpty { return (s.queue.removeFirst(), 0) }
                s.waiterID += 1
                s.waiter = continuation
                return (nil, s.waiterID)
            }
            if let ready {
                continuation.resume(returning: ready)
                return
            }
            let nanoseconds = limit.components.seconds * 1_000_000_000 + limit.components.attoseconds / 1_000_000_000
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(nanoseconds))) {
                let waiter: CheckedContinuation<Value?, Never>? = self.state.withLock { s in
                    guard s.waiterID == id, let waiter = s.waiter else { return nil }
                    s.waiter = nil
                    return waiter
                }
                waiter?.resume(returning: nil)
            }
        }
        guard let value else { throw TimedOut(what: what) }
        return value
    }
}

/// A server running over one kind of transport, and what a test needs to make clients of it.
struct RPCFixture: Sendable {
    let kind: RPCTransportKind
    let server: RPCServer
    /// The address bound: a ZeroMQ endpoint, or an in-memory name.
    let address: String
    let network: RPCInMemoryNetwork
    let clientReactor: ZMQReactor
    /// A client connected at the start.
    let client: RPCClient

    /// A transport to this server, not yet connected.
    func makeClientTransport(caller: String? = nil, heartbeat: ZMQHeartbeat = .standard) -> any RPCClientTransport {
        switch kind {
        case .inMemory:
            RPCInMemoryClientTransport(network: network, address: address, caller: caller)
        case .inproc, .tcp, .tcpDirect:
            RPCZMQClientTransport(reactor: clientReactor, endpoint: address, heartbeat: heartbeat)
        }
    }

    /// Another connected client.
    func makeClient(
        retryPolicy: RPCRetryPolicy = .standard,
        interceptors: [any RPCClientInterceptor] = [],
        caller: String? = nil
    ) async throws -> RPCClient {
        let client = RPCClient(
            transport: makeClientTransport(caller: caller),
            retryPolicy: retryPolicy,
            interceptors: interceptors
        )
        try await client.connect()
        return client
    }

    /// A raw peer that sends hand-made frames (on ZeroMQ, a DEALER).
    func makeRawPeer() async throws -> RPCRawPeer {
        try await RPCRawPeer.connect(makeClientTransport())
    }
}

/// Runs `body` with a server of `methods` over `kind` and a connected client, then stops both and the reactors.
func withRPCServer(
    _ kind: RPCTransportKind,
    methods: [String: RPCMethod],
    limits: RPCCallTable.Limits = RPCCallTable.Limits(),
    maxMessageBytes: Int = 4 << 20,
    interceptors: [any RPCServerInterceptor] = [],
    clientInterceptors: [any RPCClientInterceptor] = [],
    retryPolicy: RPCRetryPolicy = .standard,
    streamProbeInterval: Duration = .milliseconds(200),
    serverSendHighWaterMark: Int32? = nil,
    _ body: (RPCFixture) async throws -> Void
) async throws {
    let context = try ZMQContext()
    let serverReactor = try ZMQReactor(context: context, name: "rpc-srv")
    let clientReactor = try ZMQReactor(context: context, name: "rpc-cli")
    let network = RPCInMemoryNetwork()
    let transport = kind.serverTransport(
        reactor: serverReactor,
        network: network,
        name: "rpc",
        sendHighWaterMark: serverSendHighWaterMark
    )
    let server = RPCServer(
        transport: transport,
        methods: methods,
        limits: limits,
        maxMessageBytes: maxMessageBytes,
        interceptors: interceptors,
        streamProbeInterval: streamProbeInterval,
        handlerExecution: kind == .tcpDirect ? .direct : .pool
    )
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        let address = try await server.boundEndpoint()
        let clientTransport: any RPCClientTransport =
            kind == .inMemory
            ? RPCInMemoryClientTransport(network: network, address: address)
            : RPCZMQClientTransport(reactor: clientReactor, endpoint: address)
        let client = RPCClient(transport: clientTransport, retryPolicy: retryPolicy, interceptors: clientInterceptors)
        try await client.connect()
        let fixture = RPCFixture(
            kind: kind,
            server: server,
            address: address,
            network: network,
            clientReactor: clientReactor,
            client: client
        )
        do {
            if kind == .tcpDirect {
                // The test's own calls (on the fixture's client) start and resume on the client's reactor.
                try await withTaskExecutorPreference(client.transportExecutor) { try await body(fixture) }
            } else {
                try await body(fixture)
            }
        } catch {
            await client.close()
            group.cancelAll()
            throw error
        }
        await client.close()
        group.cancelAll()
        try await group.waitForAll()
    }
    await clientReactor.shutdown()
    await serverReactor.shutdown()
}

/// Methods from unary handlers and stream handlers.
func methods(
    unary: [String: RPCUnaryHandler] = [:],
    streams: [String: RPCServerStreamHandler] = [:]
) -> [String: RPCMethod] {
    unary.mapValues { .unary($0) }.merging(streams.mapValues { .serverStream($0) }) { a, _ in a }
}

/// A flag set on another thread.
final class Flag: Sendable {
    private let value = Mutex(false)
    func set() { value.withLock { $0 = true } }
    var isSet: Bool { value.withLock { $0 } }
}

/// A counter bumped on other threads.
final class Counter: Sendable {
    private let box = Mutex(0)
    @discardableResult
    func increment() -> Int {
        box.withLock {
            $0 += 1
            return $0
        }
    }
    var value: Int { box.withLock { $0 } }
}
