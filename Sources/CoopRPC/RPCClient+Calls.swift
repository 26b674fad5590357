import Dispatch

/// Starting and ending calls: attempts and retries, deadlines, cancellation.
extension RPCClient {
    /// A unary call below the interceptors: attempts until one is not UNAVAILABLE, the call is not idempotent, the
    /// policy's attempts are spent, or the deadline leaves no room for the next pause.
    func performUnary(_ call: RPCClientCall) async throws(RPCError) -> RPCResponse {
        let deadline = call.options.timeout.map { ContinuousClock.now + Self.clamped($0) }
        var attempt = 1
        while true {
            let result = await self.attempt(call, deadline: deadline)
            guard case .failure(let error) = result else { return try result.get() }
            guard call.options.isIdempotent, error.code == .unavailable, attempt < retryPolicy.maxAttempts,
                !state.withLock({ $0.closed }), !Task.isCancelled
            else { throw error }
            let pause = retryPolicy.jitteredBackoff(after: attempt)
            if let deadline, ContinuousClock.now + pause >= deadline { throw error }
            do {
                try await Task.sleep(for: pause)
            } catch {
                throw RPCError(code: .cancelled, message: "the calling task was cancelled while waiting to retry")
            }
            attempt += 1
        }
    }

    /// One attempt of a unary call.
    private func attempt(
        _ call: RPCClientCall,
        deadline: ContinuousClock.Instant?
    ) async -> Result<RPCResponse, RPCError> {
        let callID = state.withLock { s in
            s.nextCallID += 1
            return s.nextCallID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<RPCResponse, RPCError>, Never>) in
                let head = RPCRequestHead(callID: callID, method: call.method, metadata: call.options.metadata)
                let record = Call(sink: .unary(continuation), head: head, body: call.request, deadline: deadline)
                if let refused = open(callID, record) {
                    continuation.resume(returning: .failure(refused))
                    return
                }
                if Task.isCancelled {
                    cancel(callID, RPCError(code: .cancelled, message: "the call was cancelled before it was sent"))
                    return
                }
                flush()
                arm(callID, deadline: deadline)
            }
        } onCancel: {
            cancel(callID, RPCError(code: .cancelled, message: "the calling task was cancelled"))
        }
    }

    /// The most stream messages a stream call takes in one server message unless its ``RPCCallOptions/batch`` says
    /// otherwise (docs/PROTOCOL.md, "Batches"). A server sends batches only when its handler runs ahead of the
    /// connection, so they cost a stream that sends now and then nothing.
    public static let streamBatch: UInt32 = 256

    /// Calls a server-streaming `method` with the given options; see ``serverStream(_:_:timeout:credit:metadata:)``.
    public func serverStream(
        _ method: String,
        _ request: [UInt8],
        options: RPCCallOptions
    ) throws(RPCError) -> RPCStream {
        let credit = max(2, options.credit)
        let deadline = options.timeout.map { ContinuousClock.now + Self.clamped($0) }
        let buffer = RPCStreamBuffer()
        let promise = RPCMetadataPromise()
        let callID = state.withLock { s in
            s.nextCallID += 1
            return s.nextCallID
        }
        let head = RPCRequestHead(
            callID: callID,
            method: method,
            metadata: options.metadata,
            credit: credit,
            batch: options.batch > 1 ? options.batch : nil,
            packed: options.batch > 1 && options.packed
        )
        if let refused = open(
            callID,
            Call(
                sink: .stream(buffer, promise),
                head: head,
                body: request,
                deadline: deadline,
                granted: UInt64(credit)
            )
        ) {
            throw refused
        }
        buffer.onConsumerGone { [weak self] in
            // The consumer stopped early: forget the call and tell the server.
            self?.cancel(callID, RPCError(code: .cancelled, message: "the consumer stopped reading the stream"))
        }
        flush()
        arm(callID, deadline: deadline)
        let grant: @Sendable (UInt32) -> Void = { [weak self] amount in
            guard let self else { return }
            // Counted before it is sent: the messages it allows may arrive as soon as it leaves.
            let live = self.state.withLock { s in
                guard let i = s.calls.index(forKey: callID), s.calls.values[i].sentOn == s.epoch else { return false }
                s.calls.values[i].granted += UInt64(amount)
                return true
            }
            guard live else { return }
            self.sendControl(callID, .credit(UInt64(amount)))
        }
        return RPCStream(buffer: buffer, credit: credit, head: promise, grant: grant)
    }

    /// Adds a call to the table, waiting for a connection; or says why it cannot be made.
    private func open(_ callID: UInt64, _ call: Call) -> RPCError? {
        state.withLock { s in
            if s.closed {
                return RPCError(code: .unavailable, message: "the client was closed", reason: RPCReason.unavailable)
            }
            if let refused = s.refused { return refused }
            guard s.started else {
                return RPCError(
                    code: .unavailable,
                    message: "the client of \(serverName) is not connected; call connect() first",
                    reason: RPCReason.unavailable
                )
            }
            s.calls[callID] = call
            s.unsent.append(callID)
            return nil
        }
    }

    /// Schedules the call's deadline, or for a call without one that still waits for a connection (it was not handed
    /// to one by the ``flush()`` before), the end of that wait; a request the connection refuses later arms it then
    /// (``armConnectTimeout(_:)``). The timer holds the client weakly: a client that is gone (closed, every call
    /// ended) does not wait for its timers, and neither do its transport, reactor and context.
    private func arm(_ callID: UInt64, deadline: ContinuousClock.Instant?) {
        guard let deadline else {
            let waiting = state.withLock { s in s.calls[callID].map { $0.sentOn == nil && !$0.sending } ?? false }
            if waiting { armConnectTimeout(callID) }
            return
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.dispatchInterval(deadline - .now)) {
            [weak self] in self?.expire(callID)
        }
    }

    /// Ends call `callID` UNAVAILABLE if it still waits for a connection ``connectTimeout`` from now.
    func armConnectTimeout(_ callID: UInt64) {
        DispatchQueue.global().asyncAfter(deadline: .now() + Self.dispatchInterval(connectTimeout)) {
            [weak self] in self?.expireUnsent(callID)
        }
    }

    /// The deadline passed: the call ends with DEADLINE_EXCEEDED, and the server is told if it has the request.
    private func expire(_ callID: UInt64) {
        guard let (call, sent) = remove(callID) else { return }
        let budget = call.head.timeoutMicroseconds.map { " of \($0) µs" } ?? ""
        let error = RPCError(
            code: .deadlineExceeded,
            message: sent
                ? "the deadline\(budget) passed before the answer"
                : "the deadline passed before a connection to \(serverName) could take the call; it was not sent",
            reason: RPCReason.deadlineExceeded
        )
        Self.finish(call, with: .failure(error))
        if sent { sendCancel(callID) }
    }

    /// A call without a deadline waited ``connectTimeout`` for a connection: it ends UNAVAILABLE (if still unsent).
    private func expireUnsent(_ callID: UInt64) {
        let call: Call? = state.withLock { s in
            guard let call = s.calls[callID], call.sentOn == nil, !call.sending else { return nil }
            s.calls[callID] = nil
            s.unsent.removeAll { $0 == callID }
            return call
        }
        guard let call else { return }
        let error = RPCError(
            code: .unavailable,
            message: "no connection to \(serverName) could take the call within \(connectTimeout); it was not sent",
            reason: RPCReason.unavailable
        )
        Self.finish(call, with: .failure(error))
    }

    /// Ends call `callID` with `error` (cancellation) if it is still in flight, telling the server if it has it.
    func cancel(_ callID: UInt64, _ error: RPCError) {
        guard let (call, sent) = remove(callID) else { return }
        Self.finish(call, with: .failure(error))
        if sent { sendCancel(callID) }
    }

    /// Removes a call; returns it and whether its request may have reached the server.
    private func remove(_ callID: UInt64) -> (Call, Bool)? {
        state.withLock { s in
            guard let call = s.calls.removeValue(forKey: callID) else { return nil }
            s.unsent.removeAll { $0 == callID }
            return (call, call.sentOn == s.epoch || call.sending)
        }
    }

    /// Tells the server to cancel call `callID` (``sendControl(_:_:)``: it waits while the connection is full).
    func sendCancel(_ callID: UInt64) {
        sendControl(callID, .cancel)
    }

    /// Resumes whoever waits for `call` with its outcome.
    static func finish(_ call: Call, with result: Result<RPCResponse, RPCError>) {
        switch call.sink {
        case .unary(let continuation):
            continuation.resume(returning: result)
        case .stream(let buffer, let promise):
            switch result {
            case .success:
                promise.resolve(.success(call.initialMetadata))
                buffer.finish(nil)
            case .failure(let error):
                promise.resolve(.failure(error))
                buffer.finish(error)
            }
        }
    }

    /// A timeout as a duration a deadline can hold: at most 100 days (a huge timeout simply waits); a negative one
    /// has already passed.
    static func clamped(_ timeout: Duration) -> Duration {
        min(timeout, .seconds(100 * 86_400))
    }

    /// A Dispatch interval for a duration: whole microseconds, at least 0.
    static func dispatchInterval(_ duration: Duration) -> DispatchTimeInterval {
        .microseconds(Int(clamping: max(0, microseconds(duration))))
    }

    /// Whole microseconds of a duration, at least 1 (a budget of 0 would mean "no deadline" on the wire).
    static func microseconds(_ duration: Duration) -> UInt64 {
        // A negative duration under a second has seconds 0 and negative attoseconds: check the whole.
        guard duration > .zero else { return 1 }
        let (seconds, attoseconds) = duration.components
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000)
        if overflow { return .max }
        return max(1, whole &+ UInt64(attoseconds / 1_000_000_000_000))
    }
}
