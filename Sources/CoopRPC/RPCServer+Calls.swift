import Synchronization

/// One call on the server: interceptors, the handler (stopped by the deadline and the client's cancel), stream
/// messages against credit, and the call's last message.
extension RPCServer {
    /// Runs one admitted call to its end and sends its last message; the call leaves the table once the transport is
    /// done with that message, and ``Shared/running`` once it is handed over.
    func serve(_ request: RPCRequest) async {
        let key = RPCCallTable.Key(peer: request.peer, callID: request.head.callID)
        let progress: StreamProgress?
        if case .serverStream = methods[request.head.method] {
            progress = StreamProgress(
                transport: transport,
                peer: key.peer,
                callID: key.callID,
                batch: request.head.batch,
                packed: request.head.packed
            )
        } else {
            progress = nil
        }
        let isStream = progress != nil
        var end = RPCServerMessage(callID: request.head.callID)
        var head: RPCMetadata?
        do {
            let response = try await intercepted(request, key: key, progress: progress)
            if !isStream {
                end.body = response.body
                if !response.initialMetadata.isEmpty { head = response.initialMetadata }
            }
            end.metadata = response.metadata
            end.status = .ok
        } catch let error as RPCError {
            end.metadata = error.metadata
            end.status = error.status
        } catch is CancellationError {
            end.status = cancelledStatus(key)
        } catch {
            end.status = RPCStatus(code: .internal, message: "the handler failed: \(error)")
        }
        if let head {
            transport.send(
                RPCFrames.encode(RPCServerMessage(callID: key.callID, metadata: head)),
                to: key.peer,
                then: nil
            )
        }
        let ended: @Sendable (RPCSendResult) -> Void = { _ in self.shared.withLock { $0.machine.ended(key) } }
        if let progress {
            // After the stream's messages still on their way (a batch waiting for the one before it).
            progress.finish(RPCFrames.encode(end), then: ended)
        } else {
            transport.send(RPCFrames.encode(end), to: key.peer, then: ended)
        }
        // After the last message is handed over: a draining server closes its transport once every call is here.
        callEnded(key)
    }

    /// The status of a call whose handler stopped for cancellation.
    private func cancelledStatus(_ key: RPCCallTable.Key) -> RPCStatus {
        RPCStatus(code: .cancelled, message: "call \(key.callID) was cancelled")
    }

    /// The call through the interceptors, first to last, then the handler.
    private func intercepted(
        _ request: RPCRequest,
        key: RPCCallTable.Key,
        progress: StreamProgress?
    ) async throws -> RPCResponse {
        var next: @Sendable (RPCRequest, RPCServerContext) async throws -> RPCResponse = { request, _ in
            try await self.invoke(request, key: key, progress: progress)
        }
        for interceptor in interceptors.reversed() {
            let inner = next
            next = { request, context in try await interceptor.intercept(request, context: context, next: inner) }
        }
        return try await next(request, RPCServerContext(request))
    }

    /// The handler, in the call's own task: the deadline (a timer) and the client's cancel (or its going away) cancel
    /// that task, and the call then ends DEADLINE_EXCEEDED or CANCELLED whatever the handler returned, once it
    /// returned (a handler that ignores cancellation holds its call until it returns, as a task group would).
    private func invoke(
        _ request: RPCRequest,
        key: RPCCallTable.Key,
        progress: StreamProgress?
    ) async throws -> RPCResponse {
        guard let method = methods[request.head.method] else {
            shared.withLock { $0.machine.handlerDone(key) }
            throw RPCError(
                code: .unimplemented,
                message: "no method \(request.head.method) on this server",
                reason: RPCReason.unknownMethod
            )
        }
        let started = ContinuousClock.now
        let deadline = request.head.timeoutMicroseconds.map { timeout in
            Task {
                guard (try? await Task.sleep(for: .microseconds(Int64(clamping: timeout)))) != nil else { return }
                self.stop(key, because: .deadline)
            }
        }
        let result: Result<RPCResponse, any Error>
        do {
            switch method {
            case .unary(let handler):
                result = .success(try await handler(request))
            case .serverStream(let handler):
                let progress =
                    progress
                    ?? StreamProgress(transport: transport, peer: key.peer, callID: key.callID, batch: nil)
                let writer = RPCStreamWriter(
                    sendBody: { body in
                        try await self.sendStreamed(body, key: key, progress: progress)
                    },
                    sendHead: { metadata in
                        try self.sendHead(metadata, key: key, progress: progress)
                    }
                )
                let trailers = try await handler(request, writer)
                result = .success(RPCResponse(body: [], metadata: trailers))
            }
        } catch {
            result = .failure(error)
        }
        deadline?.cancel()
        let stop = shared.withLock { s in
            s.machine.handlerDone(key)
            return s.running[key]?.stop
        }
        switch stop {
        case .deadline:
            throw RPCError(
                code: .deadlineExceeded,
                message: "the deadline of \(request.head.timeoutMicroseconds ?? 0) µs passed before the answer",
                reason: RPCReason.deadlineExceeded
            )
        case .cancelled:
            throw RPCError(code: .cancelled, message: "call \(request.head.callID) was cancelled or its client left")
        case nil:
            let response = try result.get()
            // A budget spent before the answer is DEADLINE_EXCEEDED even when the handler beat its timer (a handler
            // that never suspends beats a timer of 1 µs): the client was promised no answer after its deadline.
            if let timeout = request.head.timeoutMicroseconds,
                ContinuousClock.now - started >= .microseconds(Int64(clamping: timeout))
            {
                throw RPCError(
                    code: .deadlineExceeded,
                    message: "the deadline of \(timeout) µs passed before the answer was ready",
                    reason: RPCReason.deadlineExceeded
                )
            }
            return response
        }
    }

    /// Sends a stream's initial metadata, before any message.
    private func sendHead(_ metadata: RPCMetadata, key: RPCCallTable.Key, progress: StreamProgress) throws {
        guard progress.takeHead() else {
            throw RPCError(
                code: .failedPrecondition,
                message: "initial metadata goes once, before the stream's first message"
            )
        }
        guard !shared.withLock({ $0.machine.isFinished(key) }) else { throw CancellationError() }
        transport.send(
            RPCFrames.encode(RPCServerMessage(callID: key.callID, metadata: metadata)),
            to: key.peer,
            then: nil
        )
    }

    /// Sends one message of a server stream once there is credit for it. While it waits, it probes the client every
    /// ``streamProbeInterval`` (a header-only message); a client that is gone is then reported by the transport and
    /// the call is cancelled.
    private nonisolated(nonsending) func sendStreamed(
        _ body: [UInt8],
        key: RPCCallTable.Key,
        progress: StreamProgress
    ) async throws {
        while true {
            try Task.checkCancellation()
            switch shared.withLock({ $0.machine.takeCredit(key) }) {
            case .gone:
                throw CancellationError()
            case .taken:
                // The transport keeps what its peer's queue cannot take yet and sends it, in order, once there is
                // room: never dropped. The stream goes on while its unsent messages stay few.
                progress.send(body)
                try await progress.waitForRoom()
                return
            case .wait:
                if await !waitForCredit(key) { progress.probe() }
            }
        }
    }

    /// Waits until credit arrives or the call is over (`true`), or until the server's probe tick finds it waited a
    /// whole probe interval (`false`).
    private func waitForCredit(_ key: RPCCallTable.Key) async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let ready = self.shared.withLock { s in
                    // Cancelled already: the cancellation handler found nothing to resume.
                    if s.machine.creditAvailable(key) || Task.isCancelled { return true }
                    s.creditWaiters[key] = CreditWaiter(continuation: continuation, tick: s.probeTick)
                    return false
                }
                if ready { continuation.resume(returning: true) }
            }
        } onCancel: {
            self.shared.withLock { $0.creditWaiters.removeValue(forKey: key) }?.continuation.resume(returning: true)
        }
    }
}
