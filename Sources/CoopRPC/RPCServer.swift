public import CoopZMQ
import Synchronization

/// A server of unary and server-streaming calls: routes by full method name, enforces the deadline each request
/// carries, honours cancellation, bounds the calls in flight (``RPCCallTable``), runs its interceptors around every
/// call, ends the calls of a client that went away, and answers every malformed message with its own status while it
/// goes on serving others.
///
/// **Threading.** `Sendable`. The transport delivers client messages one at a time on its own context (for ZeroMQ,
/// the reactor's thread, where the ROUTER socket lives); the protocol logic (``RPCServerStateMachine``) is a value
/// behind a `Mutex`; each call's interceptors and handler run in one task of its own (no task group per call: the
/// client's cancel, the peer going away, the deadline and the drain timeout cancel that task), started by the transport's
/// event and registered with it under the lock; ``run()`` returns only once every call has ended, so none outlives the
/// server; their messages go back through the transport's `send`. Where those tasks run is ``handlerExecution``: Swift's
/// global executor by default, or, with ``HandlerExecution/direct``, the transport's own thread.
///
/// **Life cycle.** ``run()`` listens, serves until its task is cancelled, then drains: it answers new calls
/// UNAVAILABLE while the calls in flight run on, not cancelled (credit and cancels for them are still taken), for at
/// most ``drainTimeout``; calls still running then are cancelled. Then it closes the transport.
///
/// **Gone clients.** When the transport reports a peer gone (on ZeroMQ: a send failing with `EHOSTUNREACH`), that
/// peer's calls leave the table and their handlers are cancelled. A stream that has waited for credit for a whole
/// ``streamProbeInterval`` sends a probe (a header-only message the client ignores) at the server's next probe tick
/// (one timer per server, every interval), so a client that vanished mid-stream is found even though the stream has
/// nothing to send.
public final class RPCServer: Sendable {
    /// Methods by full name (`/coop.v1.Health/Check`).
    public let methods: [String: RPCMethod]
    public let limits: RPCCallTable.Limits
    /// Largest request message answered with a status when over the limit; on ZeroMQ, a frame over four times this
    /// makes libzmq drop the connection instead (`ZMQ_MAXMSGSIZE`), so that a hostile peer cannot fill memory.
    public let maxMessageBytes: Int
    /// CurveZMQ, or `nil` for plain text (local experiments only) or a transport other than ZeroMQ.
    public let curve: RPCServerCurve?
    /// Run around every call, first to last (see ``RPCServerInterceptor``).
    public let interceptors: [any RPCServerInterceptor]
    /// How often a stream that waits for credit checks that its client is still there (after one to two of these).
    public let streamProbeInterval: Duration
    /// How long a stopping server lets its calls in flight run before it cancels them.
    public let drainTimeout: Duration
    /// Where the calls' interceptors and handlers run.
    public let handlerExecution: HandlerExecution
    let transport: any RPCServerTransport
    let shared: Mutex<Shared>

    struct Shared {
        var machine: RPCServerStateMachine
        var bound: Result<String, RPCError>?
        var boundWaiters: [CheckedContinuation<String, any Error>] = []
        /// ``run()`` takes calls (from just before it listens until it is cancelled).
        var accepting = false
        /// ``run()`` was cancelled: it drains.
        var stopRequested = false
        /// ``run()`` waiting to be cancelled.
        var stopWaiter: CheckedContinuation<Void, Never>?
        /// ``run()`` waiting, while it drains, for the last call to end.
        var drainWaiter: CheckedContinuation<Void, Never>?
        /// Per call in flight: its task, and why it must stop (client cancel, peer gone, deadline) once it must.
        var running: [RPCCallTable.Key: Running] = [:]
        /// Server streams waiting for credit: resumed `true` when credit came or the call is over, `false` to probe.
        var creditWaiters: [RPCCallTable.Key: CreditWaiter] = [:]
        /// Counts the probe ticks; a waiter that has seen a whole interval pass (registered before the last tick) is
        /// told to probe at the next.
        var probeTick: UInt64 = 0
    }

    /// A server on `transport`.
    public init(
        transport: any RPCServerTransport,
        methods: [String: RPCMethod],
        limits: RPCCallTable.Limits = RPCCallTable.Limits(),
        maxMessageBytes: Int = 4 << 20,
        interceptors: [any RPCServerInterceptor] = [],
        streamProbeInterval: Duration = .seconds(1),
        drainTimeout: Duration = .seconds(10),
        handlerExecution: HandlerExecution = .pool
    ) {
        self.transport = transport
        self.methods = methods
        self.limits = limits
        self.maxMessageBytes = maxMessageBytes
        self.curve = (transport as? RPCZMQServerTransport)?.curve
        self.interceptors = interceptors
        self.streamProbeInterval = streamProbeInterval
        self.drainTimeout = drainTimeout
        self.handlerExecution = handlerExecution
        self.shared = Mutex(Shared(machine: RPCServerStateMachine(limits: limits, maxMessageBytes: maxMessageBytes)))
    }

    /// A server that will bind a ROUTER on `endpoint` (`tcp://127.0.0.1:0` picks a port; ``boundEndpoint()`` tells
    /// which), with ZMTP `heartbeat`s on its connections.
    public convenience init(
        reactor: ZMQReactor,
        endpoint: String,
        methods: [String: RPCMethod],
        curve: RPCServerCurve? = nil,
        limits: RPCCallTable.Limits = RPCCallTable.Limits(),
        maxMessageBytes: Int = 4 << 20,
        heartbeat: ZMQHeartbeat = .standard,
        interceptors: [any RPCServerInterceptor] = [],
        drainTimeout: Duration = .seconds(10),
        handlerExecution: HandlerExecution = .pool
    ) {
        let transport = RPCZMQServerTransport(
            reactor: reactor,
            endpoint: endpoint,
            curve: curve,
            heartbeat: heartbeat,
            maxFrameBytes: Int64(maxMessageBytes) * 4 + Int64(RPCFrames.maxHeaderBytes)
        )
        self.init(
            transport: transport,
            methods: methods,
            limits: limits,
            maxMessageBytes: maxMessageBytes,
            interceptors: interceptors,
            drainTimeout: drainTimeout,
            handlerExecution: handlerExecution
        )
    }

    /// The address bound (for ZeroMQ, the endpoint with its port), once ``run()`` has bound it; throws the error if
    /// it could not.
    public func boundEndpoint() async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<String, RPCError>? = shared.withLock { s in
                if let bound = s.bound { return bound }
                s.boundWaiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(with: ready.mapError { $0 as any Error }) }
        }
    }

    /// Calls in flight: admitted and not yet ended (a call of a client that went away leaves at once).
    public var callsInFlight: Int { shared.withLock { $0.machine.table.count } }

    /// Listens and serves until cancelled; see the type's life cycle. Throws when the transport cannot listen.
    public func run() async throws {
        shared.withLock { $0.accepting = true }
        do {
            let address = try await transport.listen { event in self.handle(event) }
            announce(.success(address))
        } catch {
            shared.withLock { $0.accepting = false }
            announce(.failure(error))
            throw error
        }
        let prober = Task { await self.probeWhileServing() }
        defer { prober.cancel() }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let stopped = shared.withLock { s in
                    if s.stopRequested { return true }
                    s.stopWaiter = continuation
                    return false
                }
                if stopped { continuation.resume() }
            }
        } onCancel: {
            // New calls are answered UNAVAILABLE from now on; the calls in flight run on, and their credit and
            // cancels are still delivered.
            let waiter = shared.withLock { s in
                s.machine.stop()
                s.accepting = false
                s.stopRequested = true
                defer { s.stopWaiter = nil }
                return s.stopWaiter
            }
            waiter?.resume()
        }
        let drainTimer = DrainTimer()
        drainTimer.start(after: drainTimeout) {
            for task in self.shared.withLock({ s in s.running.values.compactMap(\.task) }) { task.cancel() }
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let drained = shared.withLock { s in
                if s.running.isEmpty { return true }
                s.drainWaiter = continuation
                return false
            }
            if drained { continuation.resume() }
        }
        drainTimer.cancel()
        await transport.close()
    }

    /// Every ``streamProbeInterval`` until cancelled: tells the streams that have waited for credit since before the
    /// previous tick to send a probe. One timer per server, instead of one per wait.
    private func probeWhileServing() async {
        while (try? await Task.sleep(for: streamProbeInterval)) != nil {
            let due = shared.withLock { s -> [CheckedContinuation<Bool, Never>] in
                let tick = s.probeTick
                s.probeTick += 1
                let keys = s.creditWaiters.filter { $0.value.tick < tick }.map(\.key)
                return keys.compactMap { s.creditWaiters.removeValue(forKey: $0)?.continuation }
            }
            for waiter in due { waiter.resume(returning: false) }
        }
    }

    /// Starts the task of a call just admitted (under the lock, so that nothing can stop the call before its task is
    /// registered).
    private func startCall(_ request: RPCRequest) -> Task<Void, Never> {
        if handlerExecution == .direct, let executor = transport.executor {
            return Task(executorPreference: executor) { await self.serve(request) }
        }
        return Task { await self.serve(request) }
    }

    /// The call `key` has sent its last message: it leaves ``Shared/running``, and a draining ``run()`` learns when
    /// it was the last.
    func callEnded(_ key: RPCCallTable.Key) {
        let drained = shared.withLock { s -> CheckedContinuation<Void, Never>? in
            s.running.removeValue(forKey: key)
            guard s.running.isEmpty else { return nil }
            defer { s.drainWaiter = nil }
            return s.drainWaiter
        }
        drained?.resume()
    }

    /// Stops the call `key` (if it still runs and was not stopped already) for `reason`: cancels its task.
    func stop(_ key: RPCCallTable.Key, because reason: Running.Stop) {
        shared.withLock { $0.stop(key, because: reason) }?.cancel()
    }

    private func announce(_ result: Result<String, RPCError>) {
        let waiters = shared.withLock { s in
            s.bound = result
            defer { s.boundWaiters.removeAll() }
            return s.boundWaiters
        }
        for waiter in waiters { waiter.resume(with: result.mapError { $0 as any Error }) }
    }

    // MARK: On the transport's context

    private func handle(_ event: RPCServerTransportEvent) {
        switch event {
        case .received(let peer, let frames, let caller):
            typealias Outcome = (
                action: RPCServerStateMachine.Action, waiter: CreditWaiter?, stop: Task<Void, Never>?
            )
            let outcome: Outcome = shared.withLock { s in
                let action = s.machine.received(peer: peer, frames: frames, caller: caller)
                switch action {
                case .start(let request):
                    // Under the lock, so that a stop cannot come between admission and the task's registration.
                    if s.accepting {
                        let key = RPCCallTable.Key(peer: peer, callID: request.head.callID)
                        s.running[key] = Running(task: startCall(request))
                        return (.none, nil, nil)
                    }
                    s.machine.ended(RPCCallTable.Key(peer: peer, callID: request.head.callID))
                    let status = RPCStatus(
                        code: .unavailable,
                        message: "the server is stopping and takes no new calls",
                        reason: RPCReason.unavailable
                    )
                    return (.answer(RPCServerMessage(callID: request.head.callID, status: status)), nil, nil)
                case .creditGranted(let key):
                    return (action, s.creditWaiters.removeValue(forKey: key), nil)
                case .cancel(let key):
                    return (action, nil, s.stop(key, because: .cancelled))
                case .answer, .none:
                    return (action, nil, nil)
                }
            }
            outcome.waiter?.continuation.resume(returning: true)
            outcome.stop?.cancel()
            if case .answer(let message) = outcome.action {
                // A peer that vanished meanwhile is unroutable: the transport reports it, nothing else to do.
                transport.send(RPCFrames.encode(message), to: peer, then: nil)
            }
        case .peerGone(let peer, _):
            let (tasks, waiters) = shared.withLock { s in
                let keys = s.machine.peerGone(peer)
                return (
                    keys.compactMap { s.stop($0, because: .cancelled) },
                    keys.compactMap { s.creditWaiters.removeValue(forKey: $0) }
                )
            }
            for task in tasks { task.cancel() }
            for waiter in waiters { waiter.continuation.resume(returning: true) }
        }
    }
}

/// A server stream waiting for credit, and the probe tick it started waiting at.
struct CreditWaiter: Sendable {
    var continuation: CheckedContinuation<Bool, Never>
    var tick: UInt64
}

/// A call in flight on the server: the task that runs it, and why it must stop, once it must.
struct Running: Sendable {
    enum Stop: Sendable {
        /// The client cancelled the call or went away.
        case cancelled
        /// The deadline the request carried passed.
        case deadline
    }

    /// Set when the call is admitted (its task is started and registered under the server's lock).
    var task: Task<Void, Never>?
    var stop: Stop?
}

extension RPCServer.Shared {
    /// Marks the call `key` stopped for `reason` unless it was already; returns its task to cancel (outside the lock).
    mutating func stop(_ key: RPCCallTable.Key, because reason: Running.Stop) -> Task<Void, Never>? {
        guard running[key] != nil, running[key]!.stop == nil else { return nil }
        running[key]!.stop = reason
        return running[key]!.task
    }
}

extension RPCServer {
    /// A server of unary methods only, on a ROUTER.
    public convenience init(
        reactor: ZMQReactor,
        endpoint: String,
        handlers: [String: RPCUnaryHandler],
        curve: RPCServerCurve? = nil,
        limits: RPCCallTable.Limits = RPCCallTable.Limits(),
        maxMessageBytes: Int = 4 << 20
    ) {
        self.init(
            reactor: reactor,
            endpoint: endpoint,
            methods: handlers.mapValues { .unary($0) },
            curve: curve,
            limits: limits,
            maxMessageBytes: maxMessageBytes
        )
    }
}

extension RPCServer {
    /// Where a server runs each call's interceptors and handler. A plain value.
    public enum HandlerExecution: Sendable, Hashable {
        /// In a task on Swift's global executor (the default): handlers may block a little or compute, and calls run
        /// in parallel on the pool's threads. Each call costs a hand-off from the transport's thread to the pool and
        /// back.
        case pool
        /// In a task that prefers the transport's own executor (for ZeroMQ, the reactor that received the request,
        /// see ``ZMQReactor``'s `TaskExecutor` conformance): a handler that does not suspend is answered without any
        /// thread hand-off (grpc-java's "direct executor"), and one that suspends resumes there. Every call and
        /// every socket of that reactor then share its one thread: only for handlers that never block and compute
        /// little. A transport without an executor runs the calls as `.pool` does.
        case direct
    }
}

/// Cancels the calls still running when a stopping server's drain timeout passes; stopped once they all ended.
final class DrainTimer: Sendable {
    private let timer = Mutex<(task: Task<Void, Never>?, done: Bool)>((nil, false))

    func start(after timeout: Duration, _ action: @escaping @Sendable () -> Void) {
        timer.withLock { t in
            guard !t.done else { return }
            t.task = Task {
                do {
                    try await Task.sleep(for: timeout)
                    action()
                } catch {}
            }
        }
    }

    func cancel() {
        timer.withLock { t in
            t.done = true
            t.task?.cancel()
        }
    }
}
