public import CoopZMQ
import Synchronization

/// A server of unary calls on a ZeroMQ ROUTER socket: routes by full method name, enforces the deadline each request
/// carries, honours cancellation, bounds the calls in flight (``RPCCallTable``), and answers every malformed message
/// with its own status while it goes on serving others.
///
/// **Threading.** `Sendable`. The ROUTER socket lives on the given ``ZMQReactor``'s thread, which decodes messages
/// and sends answers; handlers run as child tasks of ``run()``'s task group (structured: no stray tasks), and their
/// answers cross back to the reactor through ``ZMQReactor/execute(_:)``. The call table is behind a `Mutex`.
///
/// **Life cycle.** ``run()`` binds, serves until its task is cancelled, then stops reading new calls, lets the calls
/// in flight finish, and closes the socket.
public final class RPCServer: Sendable {
    /// Methods by full name (`/coop.v1.Health/Check`).
    public let methods: [String: RPCMethod]
    public let limits: RPCCallTable.Limits
    /// Largest request message answered with a status when over the limit; a frame over four times this makes
    /// libzmq drop the connection instead (`ZMQ_MAXMSGSIZE`), so that a hostile peer cannot fill memory.
    public let maxMessageBytes: Int
    /// CurveZMQ, or `nil` for plain text (local experiments only).
    public let curve: RPCServerCurve?
    private let reactor: ZMQReactor
    private let endpoint: String
    private let shared: Mutex<Shared>

    private struct Shared {
        var table: RPCCallTable
        var bound: Result<String, ZMQError>?
        var boundWaiters: [CheckedContinuation<String, any Error>] = []
        /// Per call in flight: resumed when the client cancels it (or when it ends).
        var cancellers: [RPCCallTable.Key: CheckedContinuation<Void, Never>] = [:]
        var cancelled: Set<RPCCallTable.Key> = []
        /// The ROUTER socket, once registered with the reactor.
        var socketID: ZMQReactor.SocketID?
        /// Server streams waiting for credit.
        var creditWaiters: [RPCCallTable.Key: CheckedContinuation<Void, Never>] = [:]
    }

    /// A server that will bind `endpoint` (`tcp://127.0.0.1:0` picks a port; ``boundEndpoint()`` tells which).
    public init(
        reactor: ZMQReactor,
        endpoint: String,
        methods: [String: RPCMethod],
        curve: RPCServerCurve? = nil,
        limits: RPCCallTable.Limits = RPCCallTable.Limits(),
        maxMessageBytes: Int = 4 << 20
    ) {
        self.reactor = reactor
        self.endpoint = endpoint
        self.methods = methods
        self.curve = curve
        self.limits = limits
        self.maxMessageBytes = maxMessageBytes
        self.shared = Mutex(Shared(table: RPCCallTable(limits: limits)))
    }

    /// The endpoint bound, once ``run()`` has bound it; throws the bind error if binding failed.
    public func boundEndpoint() async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            let ready: Result<String, ZMQError>? = shared.withLock { s in
                if let bound = s.bound { return bound }
                s.boundWaiters.append(continuation)
                return nil
            }
            if let ready { continuation.resume(with: ready.mapError { $0 as any Error }) }
        }
    }

    /// Binds and serves until cancelled; see the type's life cycle. Throws when the endpoint cannot be bound.
    public func run() async throws {
        let (calls, inbox) = AsyncStream<RPCRequest>.makeStream()
        let bound: Result<ZMQReactor.SocketID, ZMQError>
        do {
            bound = .success(
                try await reactor.run { [endpoint, maxMessageBytes, curve] registry in
                    let router = try ZMQSocket(registry.context, type: .router)
                    try router.set(.routerMandatory, 1)
                    if let curve {
                        try router.set(.curveServer, 1)
                        try router.set(.curveSecretKey, curve.secretKey)
                        try router.set(.zapDomain, "coop")
                    }
                    try router.set(.maxMessageSize, Int64(maxMessageBytes) * 4 + Int64(RPCFrames.maxHeaderBytes))
                    let address = try router.bind(endpoint)
                    let id = registry.register(router) { socket in self.readable(socket, inbox: inbox) }
                    self.shared.withLock { $0.socketID = id }
                    self.announce(.success(address))
                    return id
                }
            )
        } catch {
            bound = .failure((error as? ZMQError) ?? ZMQError(code: .system, message: "\(error)"))
        }
        guard case .success(let socketID) = bound else {
            if case .failure(let error) = bound {
                announce(.failure(error))
                throw error
            }
            return
        }
        await withTaskCancellationHandler {
            await withDiscardingTaskGroup { group in
                for await request in calls {
                    group.addTask { await self.serve(request) }
                }
            }
        } onCancel: {
            // Stop reading new calls; the stream ends and the group waits for the calls in flight.
            reactor.execute { registry in
                registry.setReading(socketID, false)
                inbox.finish()
            }
        }
        _ = try? await reactor.run { registry in registry.close(socketID) }
    }

    private func announce(_ result: Result<String, ZMQError>) {
        let waiters = shared.withLock { s in
            s.bound = result
            defer { s.boundWaiters.removeAll() }
            return s.boundWaiters
        }
        for waiter in waiters { waiter.resume(with: result.mapError { $0 as any Error }) }
    }

    // MARK: On the reactor thread

    /// Reads every waiting message; admits calls into `inbox`, answers everything else at once.
    private func readable(_ socket: ZMQSocket, inbox: AsyncStream<RPCRequest>.Continuation) {
        while true {
            let frames: [[UInt8]]
            let caller: String?
            do {
                guard let received = try socket.receiveWithUserID(blocking: false) else { return }
                frames = received.frames
                caller = received.userID.flatMap { $0.isEmpty ? nil : $0 }
            } catch {
                return
            }
            guard frames.count >= 2 else { continue }
            let peer = frames[0]
            let message: RPCClientMessage
            do {
                message = try RPCFrames.decodeClient(Array(frames.dropFirst()))
            } catch {
                answer(socket, peer: peer, callID: error.callID, status: error.error.status)
                continue
            }
            switch message {
            case .request(let head, let body):
                let key = RPCCallTable.Key(peer: peer, callID: head.callID)
                if body.count > maxMessageBytes {
                    let status = RPCStatus(
                        code: .resourceExhausted,
                        message: "the request is \(body.count) bytes; the limit is \(maxMessageBytes)",
                        reason: RPCReason.messageTooLarge
                    )
                    answer(socket, peer: peer, callID: head.callID, status: status)
                    continue
                }
                if let refused = shared.withLock({ $0.table.open(key, method: head.method, credit: head.credit) }) {
                    answer(socket, peer: peer, callID: head.callID, status: refused.status)
                    continue
                }
                inbox.yield(RPCRequest(head: head, body: body, peer: peer, caller: caller))
            case .credit(let callID, let credit):
                let key = RPCCallTable.Key(peer: peer, callID: callID)
                let (granted, waiter) = shared.withLock { s in
                    (s.table.grant(key, credit: credit), s.creditWaiters.removeValue(forKey: key))
                }
                waiter?.resume()
                if case .failure(let error) = granted {
                    answer(socket, peer: peer, callID: callID, status: error.status)
                }
            case .cancel(let callID):
                let key = RPCCallTable.Key(peer: peer, callID: callID)
                let canceller: CheckedContinuation<Void, Never>?? = shared.withLock { s in
                    guard s.table.credit(key) != nil else { return .none }
                    s.cancelled.insert(key)
                    return .some(s.cancellers.removeValue(forKey: key))
                }
                switch canceller {
                case .none:
                    let error = RPCError(
                        code: .notFound,
                        message: "cancel for call \(callID), which is not in flight",
                        reason: RPCReason.unknownCall
                    )
                    answer(socket, peer: peer, callID: callID, status: error.status)
                case .some(let continuation):
                    continuation?.resume()
                }
            }
        }
    }

    private func answer(_ socket: ZMQSocket, peer: [UInt8], callID: UInt64, status: RPCStatus) {
        // A peer that vanished meanwhile is unroutable: nothing to answer.
        _ = try? socket.send(
            [peer] + RPCFrames.encode(RPCServerMessage(callID: callID, status: status)),
            blocking: false
        )
    }

    // MARK: In the task group

    /// Runs one call's handler against its deadline and the client's cancel, then sends the answer.
    private func serve(_ request: RPCRequest) async {
        let key = RPCCallTable.Key(peer: request.peer, callID: request.head.callID)
        var message = RPCServerMessage(callID: request.head.callID)
        do {
            let response = try await race(request, key: key)
            message.body = response.body
            message.metadata = response.metadata
            message.status = .ok
        } catch let error as RPCError {
            message.metadata = error.metadata
            message.status = error.status
        } catch {
            message.status = RPCStatus(code: .internal, message: "the handler failed: \(error)")
        }
        let frames = [request.peer] + RPCFrames.encode(message)
        guard let socketID = shared.withLock({ $0.socketID }) else { return }
        reactor.execute { registry in
            // The call leaves the table as its end is sent, on the reactor thread: a credit or cancel that the
            // client sent before it saw the end is then answered after the end, which the client ignores.
            self.shared.withLock { s in
                s.table.close(key)
                s.cancelled.remove(key)
            }
            // A caller that vanished meanwhile is unroutable: its answer is dropped.
            _ = try? registry.socket(socketID)?.send(frames, blocking: false)
        }
    }

    /// Sends one message of a server stream once there is credit for it (waiting for a grant otherwise).
    private func sendStreamed(_ body: [UInt8], request: RPCRequest, key: RPCCallTable.Key) async throws {
        while true {
            try Task.checkCancellation()
            let credit: UInt64? = shared.withLock { s in
                guard let credit = s.table.credit(key) else { return nil }
                if credit > 0 { _ = s.table.takeCredit(key) }
                return credit
            }
            guard let credit else { throw CancellationError() }
            if credit > 0 { break }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let ready = shared.withLock { s in
                        if s.table.credit(key).map({ $0 > 0 }) ?? true { return true }
                        s.creditWaiters[key] = continuation
                        return false
                    }
                    if ready { continuation.resume() }
                }
            } onCancel: {
                shared.withLock { $0.creditWaiters.removeValue(forKey: key) }?.resume()
            }
        }
        let frames = [request.peer] + RPCFrames.encode(RPCServerMessage(callID: request.head.callID, body: body))
        guard let socketID = shared.withLock({ $0.socketID }) else { return }
        reactor.execute { registry in _ = try? registry.socket(socketID)?.send(frames, blocking: false) }
    }

    /// The handler, raced against the deadline and the client's cancel.
    private func race(
        _ request: RPCRequest,
        key: RPCCallTable.Key
    ) async throws -> (body: [UInt8]?, metadata: RPCMetadata) {
        guard let method = methods[request.head.method] else {
            throw RPCError(
                code: .unimplemented,
                message: "no method \(request.head.method) on this server",
                reason: RPCReason.unknownMethod
            )
        }
        enum Outcome: Sendable {
            case answered([UInt8]?, RPCMetadata)
            case deadline
            case cancelled
        }
        let outcome: Outcome = try await withThrowingTaskGroup(of: Outcome.self) { group in
            group.addTask {
                switch method {
                case .unary(let handler):
                    let response = try await handler(request)
                    return .answered(response.body, response.metadata)
                case .serverStream(let handler):
                    let writer = RPCStreamWriter { body in try await self.sendStreamed(body, request: request, key: key)
                    }
                    return .answered(nil, try await handler(request, writer))
                }
            }
            if let timeout = request.head.timeoutMicroseconds {
                group.addTask {
                    try await Task.sleep(for: .microseconds(Int64(clamping: timeout)))
                    return .deadline
                }
            }
            group.addTask {
                await withCheckedContinuation { continuation in
                    let already = self.shared.withLock { s in
                        if s.cancelled.contains(key) { return true }
                        s.cancellers[key] = continuation
                        return false
                    }
                    if already { continuation.resume() }
                }
                return .cancelled
            }
            defer {
                group.cancelAll()
                // The cancel watcher ends only when resumed or told to stop: do both, whichever it is waiting for,
                // so that the group can finish, also when the handler threw.
                let watcher = shared.withLock { s in
                    s.cancelled.insert(key)
                    return s.cancellers.removeValue(forKey: key)
                }
                watcher?.resume()
            }
            return try await group.next() ?? .cancelled
        }
        switch outcome {
        case .answered(let body, let metadata):
            return (body, metadata)
        case .deadline:
            throw RPCError(
                code: .deadlineExceeded,
                message: "the deadline of \(request.head.timeoutMicroseconds ?? 0) µs passed before the answer",
                reason: RPCReason.deadlineExceeded
            )
        case .cancelled:
            throw RPCError(code: .cancelled, message: "the client cancelled call \(request.head.callID)")
        }
    }
}

extension RPCServer {
    /// A server of unary methods only.
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
