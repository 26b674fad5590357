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
    private let state = Mutex(State())

    private struct State {
        var nextCallID: UInt64 = 0
        var pending: [UInt64: CheckedContinuation<RPCServerMessage, Never>] = [:]
        var streams: [UInt64: AsyncThrowingStream<[UInt8], any Error>.Continuation] = [:]
        var socketID: ZMQReactor.SocketID?
        var closed = false
    }

    /// A client for the server at `endpoint`; ``connect()`` before calling.
    public init(reactor: ZMQReactor, endpoint: String) {
        self.reactor = reactor
        self.endpoint = endpoint
    }

    /// Creates the DEALER socket and connects (libzmq connects and reconnects in the background).
    public func connect() async throws {
        let id = try await reactor.run { [endpoint] registry in
            let dealer = try ZMQSocket(registry.context, type: .dealer)
            try dealer.connect(endpoint)
            return registry.register(dealer) { socket in self.readable(socket) }
        }
        state.withLock { $0.socketID = id }
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
        let (callID, socketID, closed) = state.withLock { s in
            s.nextCallID += 1
            return (s.nextCallID, s.socketID, s.closed)
        }
        guard let socketID, !closed else {
            throw RPCError(
                code: .unavailable,
                message: "the client is not connected to \(endpoint)",
                reason: RPCReason.unavailable
            )
        }
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
                        deadline: .now() + .microseconds(Int(clamping: timeoutMicroseconds))
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
        let (callID, socketID, closed) = state.withLock { s in
            s.nextCallID += 1
            return (s.nextCallID, s.socketID, s.closed)
        }
        guard let socketID, !closed else {
            throw RPCError(
                code: .unavailable,
                message: "the client is not connected to \(endpoint)",
                reason: RPCReason.unavailable
            )
        }
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
            DispatchQueue.global().asyncAfter(deadline: .now() + .microseconds(Int(clamping: timeoutMicroseconds))) {
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
        if let socketID { _ = try? await reactor.run { registry in registry.close(socketID) } }
    }

    /// Calls in flight.
    public var callsInFlight: Int { state.withLock { $0.pending.count } }

    // MARK: Internals

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

    static func microseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 1 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000)
        if overflow { return .max }
        return max(1, whole &+ UInt64(attoseconds / 1_000_000_000_000))
    }
}
