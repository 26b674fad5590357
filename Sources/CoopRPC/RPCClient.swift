public import CoopZMQ
import Synchronization

/// A client of unary and server-streaming calls on one connection: many calls in flight at once, each with its own
/// id, deadline (sent to the server as the remaining budget) and cancellation; interceptors around unary calls;
/// retries of idempotent calls after UNAVAILABLE; and a connection that comes back by itself.
///
/// **Threading.** `Sendable`; call it from any task. The transport delivers what arrives and how the connection fares
/// one event at a time on its own context (for ZeroMQ, the reactor's thread, where the DEALER socket lives); the
/// calls in flight are a table behind a `Mutex`. A call waits on a continuation that exactly one of these resumes:
/// its answer, its deadline (a Dispatch timer), the task's cancellation, the connection's loss, or ``close()``.
///
/// **Connection.** A call made while there is no connection waits for one — until its deadline (then
/// DEADLINE_EXCEEDED; the request was never sent), or, without a deadline, at most ``connectTimeout`` (then
/// UNAVAILABLE). When the connection is lost (the server closed it or died, or stopped answering heartbeats), every
/// call sent on it fails at once with UNAVAILABLE (`UNAVAILABLE`): its answer can no longer come, since the server
/// sees a reconnected client as a new peer. The transport reconnects by itself; calls made meanwhile wait as above.
public final class RPCClient: Sendable {
    let transport: any RPCClientTransport
    /// Names the server in messages (the endpoint or address).
    let serverName: String
    /// How idempotent unary calls are tried again after UNAVAILABLE.
    public let retryPolicy: RPCRetryPolicy
    /// Run around every unary call, first to last (see ``RPCClientInterceptor``).
    public let interceptors: [any RPCClientInterceptor]
    /// Longest time a call without a deadline waits for a connection.
    public let connectTimeout: Duration
    let state = Mutex(State())

    /// The executor of the transport's own context (for ZeroMQ, the client's reactor), or `nil` when it has none.
    ///
    /// A caller that makes call after call and does little between them can run on it
    /// (`withTaskExecutorPreference(client.transportExecutor) { … }`): its requests are then sent and its answers
    /// resume it on the thread that owns the socket, without a thread hand-off either way (about half of what a unary
    /// call costs here, docs/BENCHMARKS.md §7). What such a caller does between calls holds up every socket of that
    /// reactor; one that blocks the thread (a semaphore, long file I/O or computation) stalls them, and one that
    /// waits synchronously for the reactor deadlocks it (see ``ZMQReactor``'s `TaskExecutor` conformance).
    public var transportExecutor: (any TaskExecutor)? { transport.executor }

    struct State {
        var nextCallID: UInt64 = 0
        var calls: [UInt64: Call] = [:]
        /// Calls whose request waits for a connection, oldest first.
        var unsent: [UInt64] = []
        var connected = false
        /// Counts connection changes; a call remembers the one it was sent on.
        var epoch: UInt64 = 0
        var started = false
        var closed = false
        /// Set when the server refused this client's key: calls fail at once with it.
        var refused: RPCError?
        /// Credit and cancel messages the connection refused, waiting for it to be writable (``sendControl(_:_:)``).
        var owed = OwedControl()
        /// Requests a connection refused as full or absent (``RPCSendResult/wouldBlock``), ever (for tests).
        var requestsRefused = 0
    }

    struct Call {
        enum Sink {
            case unary(CheckedContinuation<Result<RPCResponse, RPCError>, Never>)
            case stream(RPCStreamBuffer, RPCMetadataPromise)
        }

        var sink: Sink
        var head: RPCRequestHead
        var body: [UInt8]
        var deadline: ContinuousClock.Instant?
        /// The epoch of the connection the request went on; `nil` while unsent.
        var sentOn: UInt64?
        /// Handed to the transport, outcome not known yet.
        var sending = false
        /// A message of the call arrived (the first one may carry response metadata).
        var answered = false
        var initialMetadata = RPCMetadata()
        /// Server streams: messages the server may send, the request's credit plus every `StreamCredit` the client
        /// sent (counted before it is sent, so that a message it allows is never taken for a violation).
        var granted: UInt64 = 0
        /// Server streams: messages received. One past ``granted`` ends the call (`CREDIT_EXCEEDED`).
        var received: UInt64 = 0
    }

    /// A client on `transport`; ``connect()`` before calling.
    public init(
        transport: any RPCClientTransport,
        retryPolicy: RPCRetryPolicy = .standard,
        interceptors: [any RPCClientInterceptor] = [],
        connectTimeout: Duration = .seconds(10)
    ) {
        self.transport = transport
        self.retryPolicy = retryPolicy
        self.interceptors = interceptors
        self.connectTimeout = connectTimeout
        switch transport {
        case let zmq as RPCZMQClientTransport: serverName = zmq.endpoint
        case let memory as RPCInMemoryClientTransport: serverName = "memory:\(memory.address)"
        default: serverName = "the server"
        }
    }

    /// A client of the server at `endpoint` over a DEALER socket on `reactor` (with `curve`, over CurveZMQ), with
    /// ZMTP `heartbeat`s; ``connect()`` before calling.
    public convenience init(
        reactor: ZMQReactor,
        endpoint: String,
        curve: RPCClientCurve? = nil,
        heartbeat: ZMQHeartbeat = .standard,
        retryPolicy: RPCRetryPolicy = .standard,
        interceptors: [any RPCClientInterceptor] = []
    ) {
        self.init(
            transport: RPCZMQClientTransport(reactor: reactor, endpoint: endpoint, curve: curve, heartbeat: heartbeat),
            retryPolicy: retryPolicy,
            interceptors: interceptors
        )
    }

    /// Starts the transport, which connects (and reconnects) in the background. With CurveZMQ, a server that refuses
    /// the key makes calls in flight and later calls fail with UNAUTHENTICATED naming the key (libzmq alone would only
    /// let them time out).
    public func connect() async throws {
        try await transport.connect { event in self.handle(event) }
        state.withLock { $0.started = true }
        flush()
    }

    /// Closes the connection; calls in flight fail with UNAVAILABLE, and so do later calls. Close every client you
    /// connect: until then its transport's handler holds it (and on ZeroMQ, its sockets hold the context).
    public func close() async {
        let calls = state.withLock { s in
            s.closed = true
            s.unsent.removeAll()
            _ = s.owed.takeAll()
            defer { s.calls.removeAll() }
            return s.calls
        }
        let error = RPCError(code: .unavailable, message: "the client was closed", reason: RPCReason.unavailable)
        for (_, call) in calls { Self.finish(call, with: .failure(error)) }
        await transport.close()
    }

    /// Calls in flight (sent or waiting for a connection).
    public var callsInFlight: Int { state.withLock { $0.calls.count } }

    /// Calls in flight that were handed to a connection (for tests that must know a call left before they act).
    package var callsSent: Int { state.withLock { $0.calls.values.count { $0.sentOn != nil } } }

    /// Whether a connection is up now.
    public var isConnected: Bool { state.withLock { $0.connected } }

    /// Calls `method` with the encoded `request`; returns the response or throws an ``RPCError`` with the call's
    /// status. `timeout` becomes the call's deadline: the server is told the remaining budget, and the call fails
    /// with DEADLINE_EXCEEDED when it passes (the server is sent a cancel). Cancelling the calling task cancels the
    /// call (CANCELLED). Not retried (see ``unary(_:_:options:)``).
    public func unary(
        _ method: String,
        _ request: [UInt8],
        timeout: Duration? = nil,
        metadata: RPCMetadata = RPCMetadata()
    ) async throws(RPCError) -> RPCResponse {
        try await unary(method, request, options: RPCCallOptions(timeout: timeout, metadata: metadata))
    }

    /// Calls a unary `method` with the given options, through the interceptors; an idempotent call is tried again
    /// after UNAVAILABLE as ``retryPolicy`` allows, within its deadline.
    public func unary(
        _ method: String,
        _ request: [UInt8],
        options: RPCCallOptions
    ) async throws(RPCError) -> RPCResponse {
        var next: @Sendable (RPCClientCall) async throws(RPCError) -> RPCResponse = { call throws(RPCError) in
            try await self.performUnary(call)
        }
        for interceptor in interceptors.reversed() {
            let inner = next
            next = { call throws(RPCError) in try await interceptor.intercept(call, next: inner) }
        }
        return try await next(RPCClientCall(method: method, request: request, options: options))
    }

    /// Calls a server-streaming `method`: the returned sequence yields each encoded response message and ends with
    /// the call (throwing an ``RPCError`` for a status other than OK); ``RPCStream/initialMetadata`` has the response
    /// metadata. Flow control: the server may send `credit` messages ahead; each half of that consumed grants as
    /// much again, so at most `credit` messages wait here. A server that sends past the credit granted breaks the
    /// protocol: the call fails with INTERNAL (`CREDIT_EXCEEDED`) after the messages within it, and is cancelled on
    /// the server. Ending the iteration early, or the deadline passing, cancels the call on the server. Not retried,
    /// not intercepted.
    public func serverStream(
        _ method: String,
        _ request: [UInt8],
        timeout: Duration? = nil,
        credit: UInt32 = 32,
        metadata: RPCMetadata = RPCMetadata()
    ) throws(RPCError) -> RPCStream {
        try serverStream(
            method,
            request,
            options: RPCCallOptions(timeout: timeout, metadata: metadata, credit: credit)
        )
    }
}
