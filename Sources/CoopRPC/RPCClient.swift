public import CoopZMQ
import Dispatch
import Synchronization

/// A client of unary calls on a ZeroMQ DEALER socket: many calls in flight on one connection, each with its own id,
/// deadline (sent to the server as the remaining budget) and cancellation.
///
/// **Threading.** `Sendable`; call it from any task. The DEALER socket lives on the given ``ZMQReactor``'s thread;
/// calls wait on continuations that the reactor resumes when the answer arrives, or that the deadline (a Dispatch
/// timer) or the task's cancellation resumes first. Exactly one of them resumes a call.
public final class RPCClient: Sendable {
    private let reactor: ZMQReactor
    private let endpoint: String
    private let curve: RPCClientCurve?
    private let state = Mutex(State())

    private struct State {
        var nextCallID: UInt64 = 0
        var pending: [UInt64: CheckedContinuation<RPCServerMessage, Never>] = [:]
        var streams: [UInt64: AsyncThrowingStream<[UInt8], any Error>.Continuation] = [:]
        var socketID: ZMQReactor.SocketID?
        var monitorID: ZMQReactor.SocketID?
        var closed = false
        /// Set when the server refused this client's key: calls fail at once with it.
        var refused: RPCError?
    }

    /// A client for the server at `endpoint` (with `curve`, over CurveZMQ); ``connect()`` before calling.
    public init(reactor: ZMQReactor, endpoint: String, curve: RPCClientCurve? = nil) {
        self.reactor = reactor
        self.endpoint = endpoint
        self.curve = curve
    }

    /// Creates the DEALER socket and connects (libzmq connects and reconnects in the background). With CurveZMQ, a
    /// monitor watches the handshake: when the server refuses the key, calls in flight and later calls fail with
    /// UNAUTHENTICATED naming the key (libzmq alone would only let them time out).
    public func connect() async throws {
        let (id, monitorID) = try await reactor.run { [endpoint, curve] registry in
            let dealer = try ZMQSocket(registry.context, type: .dealer)
            var monitorID: ZMQReactor.SocketID?
            if let curve {
                try dealer.set(.curveServerKey, curve.serverPublicKey)
                try dealer.set(.curvePublicKey, curve.publicKey)
                try dealer.set(.curveSecretKey, curve.secretKey)
                let monitor = try dealer.makeMonitor(name: "rpc-client-\(UInt64.random(in: 0...UInt64.max))")
                monitorID = registry.register(monitor) { socket in self.monitored(socket) }
            }
            try dealer.connect(endpoint)
            return (registry.register(dealer) { socket in self.readable(socket) }, monitorID)
        }
        state.withLock { s in
            s.socketID = id
            s.monitorID = monitorID
        }
    }

    /// On the reactor thread: handshake events of a CurveZMQ connection.
    private func monitored(_ socket: ZMQSocket) {
        while let frames = try? socket.receive(blocking: false) {
            guard let event = ZMQMonitorEvent(frames: frames) else { continue }
            switch event.kind {
            case .handshakeFailedAuth, .handshakeFailedProtocol:
                let key = curve.map { ZMQCurve.z85($0.publicKey) } ?? "-"
                let error = RPCError(
                    code: .unauthenticated,
                    message: "the server at \(endpoint) refused this client's key \(key) (ZAP status \(event.value)); "
                        + "is it in the server's roster?",
                    reason: RPCReason.unauthenticated
                )
                fail(with: error)
            case .handshakeSucceeded:
                state.withLock { $0.refused = nil }
            default:
                break
            }
        }
    }

    /// Fails every call in flight with `error` and remembers it for new calls.
    private func fail(with error: RPCError) {
        let (pending, streams) = state.withLock { s in
            s.refused = error
            defer {
                s.pending.removeAll()
                s.streams.removeAll()
            }
            return (s.pending, s.streams)
        }
        for (callID, continuation) in pending {
            continuation.resume(returning: RPCServerMessage(callID: callID, status: error.status))
        }
        for (_, stream) in streams { stream.finish(throwing: error) }
    }

    /// Calls `method` with the encoded `request`; returns the response or throws an ``RPCError`` with the call's
    /// status. `timeout` becomes the call's deadline: the server is told the remaining budget, and the call fails
    /// with DEADLINE_EXCEEDED when it passes (the server is sent a cancel). Cancelling the calling task cancels the
    /// call (CANCELLED).
    public func unary(
        _ method: String,
        _ request: [UInt8],
        timeout: Duration? = nil,
        metadata: RPCMetadata = RPCMetadata()
    ) async throws(RPCError) -> RPCResponse {
        let (callID, socketID) = try beginCall()
        let timeoutMicroseconds = timeout.map { Self.microseconds($0) }
        let frames = RPCFrames.encode(
            .request(
                RPCRequestHead(
                    callID: callID,
                    method: method,
                    timeoutMicroseconds: timeoutMicroseconds,
                    metadata: metadata
                ),
                body: request
            )
        )
        let message = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<RPCServerMessage, Never>) in
                state.withLock { $0.pending[callID] = continuation }
                if Task.isCancelled {
                    complete(callID, code: .cancelled, "the call was cancelled before it was sent")
                    return
                }
                reactor.execute { registry in
                    do {
                        guard try registry.socket(socketID)?.send(frames, blocking: false) == true else {
                            self.complete(
                                callID,
                                code: .unavailable,
                                "no connection to \(self.endpoint) can take the call now"
                            )
                            return
                        }
                    } catch {
                        self.complete(callID, code: .unavailable, "sending to \(self.endpoint) failed: \(error)")
                    }
                }
                if let timeoutMicroseconds {
                    DispatchQueue.global().asyncAfter(
                        deadline: .now() + .microseconds(Self.timerMicroseconds(timeoutMicroseconds))
                    ) {
                        if self.complete(
                            callID,
                            code: .deadlineExceeded,
                            "the deadline of \(timeoutMicroseconds) µs passed",
                            reason: RPCReason.deadlineExceeded
                        ) {
                            self.sendCancel(callID, on: socketID)
                        }
                    }
                }
            }
        } onCancel: {
            if complete(callID, code: .cancelled, "the calling task was cancelled") {
                sendCancel(callID, on: socketID)
            }
        }
        guard let status = message.status else {
            throw RPCError(code: .internal, message: "the answer to call \(callID) has no status")
        }
        guard status.isOK else { throw RPCError(status: status, metadata: message.metadata) }
        return RPCResponse(body: message.body ?? [], metadata: message.metadata)
    }

    /// Calls a server-streaming `method`: the returned sequence yields each encoded response message and ends with
    /// the call (throwing an ``RPCError`` for a status other than OK). Flow control: the server may send `credit`
    /// messages ahead; each half of that consumed grants as much again, so at most `credit` messages wait here.
    /// Ending the iteration early, or the deadline passing, cancels the call on the server.
    public func serverStream(
        _ method: String,
        _ request: [UInt8],
        timeout: Duration? = nil,
        credit: UInt32 = 32,
        metadata: RPCMetadata = RPCMetadata()
    ) throws(RPCError) -> RPCStream {
        let credit = max(2, credit)
        let (callID, socketID) = try beginCall()
        let timeoutMicroseconds = timeout.map { Self.microseconds($0) }
        let head = RPCRequestHead(
            callID: callID,
            method: method,
            timeoutMicroseconds: timeoutMicroseconds,
            metadata: metadata,
            credit: credit
        )
        let (stream, continuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        state.withLock { $0.streams[callID] = continuation }
        continuation.onTermination = { [weak self] termination in
            guard let self, case .cancelled = termination else { return }
            // The consumer stopped early: forget the call and tell the server.
            if self.state.withLock({ $0.streams.removeValue(forKey: callID) }) != nil {
                self.sendCancel(callID, on: socketID)
            }
        }
        let frames = RPCFrames.encode(.request(head, body: request))
        reactor.execute { registry in
            let sent = (try? registry.socket(socketID)?.send(frames, blocking: false)) ?? false
            if sent != true, let stream = self.state.withLock({ $0.streams.removeValue(forKey: callID) }) {
                stream.finish(
                    throwing: RPCError(
                        code: .unavailable,
                        message: "no connection to \(self.endpoint) can take the call now",
                        reason: RPCReason.unavailable
                    )
                )
            }
        }
        if let timeoutMicroseconds {
            DispatchQueue.global().asyncAfter(
                deadline: .now() + .microseconds(Self.timerMicroseconds(timeoutMicroseconds))
            ) {
                guard let stream = self.state.withLock({ $0.streams.removeValue(forKey: callID) }) else { return }
                stream.finish(
                    throwing: RPCError(
                        code: .deadlineExceeded,
                        message: "the deadline of \(timeoutMicroseconds) µs passed",
                        reason: RPCReason.deadlineExceeded
                    )
                )
                self.sendCancel(callID, on: socketID)
            }
        }
        let grant: @Sendable (UInt32) -> Void = { [weak self] amount in
            guard let self else { return }
            let frames = RPCFrames.encode(.credit(callID: callID, credit: amount))
            self.reactor.execute { registry in _ = try? registry.socket(socketID)?.send(frames, blocking: false) }
        }
        return RPCStream(base: stream, credit: credit, grant: grant)
    }

    /// Closes the socket; calls in flight fail with UNAVAILABLE.
    public func close() async {
        let (socketID, pending, streams) = state.withLock { s in
            s.closed = true
            defer {
                s.pending.removeAll()
                s.streams.removeAll()
            }
            return (s.socketID, s.pending, s.streams)
        }
        for (_, stream) in streams {
            stream.finish(
                throwing: RPCError(code: .unavailable, message: "the client was closed", reason: RPCReason.unavailable)
            )
        }
        for (callID, continuation) in pending {
            continuation.resume(
                returning: RPCServerMessage(
                    callID: callID,
                    status: RPCStatus(
                        code: .unavailable,
                        message: "the client was closed",
                        reason: RPCReason.unavailable
                    )
                )
            )
        }
        let monitorID = state.withLock { $0.monitorID }
        if let socketID {
            _ = try? await reactor.run { registry in
                registry.close(socketID)
                if let monitorID { registry.close(monitorID) }
            }
        }
    }

    /// Calls in flight.
    public var callsInFlight: Int { state.withLock { $0.pending.count } }

    // MARK: Internals

    /// A new call id and the socket to send on; throws when the client is closed, not connected, or refused.
    private func beginCall() throws(RPCError) -> (UInt64, ZMQReactor.SocketID) {
        let (callID, socketID, closed, refused) = state.withLock { s in
            s.nextCallID += 1
            return (s.nextCallID, s.socketID, s.closed, s.refused)
        }
        if let refused { throw refused }
        guard let socketID, !closed else {
            throw RPCError(
                code: .unavailable,
                message: "the client is not connected to \(endpoint)",
                reason: RPCReason.unavailable
            )
        }
        return (callID, socketID)
    }

    /// On the reactor thread: resumes the calls whose answers arrived and feeds server streams. A message that does
    /// not decode, or answers a call no longer in flight (it timed out or was cancelled), is dropped.
    private func readable(_ socket: ZMQSocket) {
        while let frames = try? socket.receive(blocking: false) {
            guard let message = try? RPCFrames.decodeServer(frames) else { continue }
            if let stream = state.withLock({ s in
                message.status == nil ? s.streams[message.callID] : s.streams.removeValue(forKey: message.callID)
            }) {
                if let body = message.body { stream.yield(body) }
                if let status = message.status {
                    if status.isOK {
                        stream.finish()
                    } else {
                        stream.finish(throwing: RPCError(status: status, metadata: message.metadata))
                    }
                }
                continue
            }
            guard message.status != nil else { continue }
            let continuation = state.withLock { $0.pending.removeValue(forKey: message.callID) }
            continuation?.resume(returning: message)
        }
    }

    /// Ends call `callID` with a local status, if nothing ended it yet; returns whether this did.
    @discardableResult
    private func complete(_ callID: UInt64, code: RPCStatus.Code, _ message: String, reason: String = "") -> Bool {
        guard let continuation = state.withLock({ $0.pending.removeValue(forKey: callID) }) else { return false }
        continuation.resume(
            returning: RPCServerMessage(callID: callID, status: RPCStatus(code: code, message: message, reason: reason))
        )
        return true
    }

    private func sendCancel(_ callID: UInt64, on socketID: ZMQReactor.SocketID) {
        let frames = RPCFrames.encode(.cancel(callID: callID))
        reactor.execute { registry in _ = try? registry.socket(socketID)?.send(frames, blocking: false) }
    }

    /// A deadline for a Dispatch timer: at most 100 days, so that a huge timeout (`.seconds(Int64.max)`) cannot
    /// overflow the timer's nanosecond arithmetic; such a call simply waits for its answer.
    static func timerMicroseconds(_ microseconds: UInt64) -> Int {
        Int(min(microseconds, 100 * 86_400 * 1_000_000))
    }

    static func microseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 1 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000)
        if overflow { return .max }
        return max(1, whole &+ UInt64(attoseconds / 1_000_000_000_000))
    }
}
