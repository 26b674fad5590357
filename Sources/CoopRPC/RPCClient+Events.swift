/// What the transport reports: connections coming and going, answers arriving; and sending what waits.
extension RPCClient {
    /// On the transport's context: one event.
    func handle(_ event: RPCClientTransportEvent) {
        switch event {
        case .connected:
            // Calls sent on an earlier connection cannot be answered on this one (the server sees a new peer).
            let stale = state.withLock { s in
                s.epoch += 1
                s.connected = true
                s.refused = nil
                _ = s.owed.takeAll()
                return takeSent(&s)
            }
            fail(stale, "the connection to \(serverName) was replaced before the answer")
            flush()
        case .writable:
            flush(writable: true)
        case .disconnected(let reason):
            let lost = state.withLock { s in
                s.epoch += 1
                s.connected = false
                _ = s.owed.takeAll()
                return takeSent(&s)
            }
            fail(lost, "\(reason) before the answer")
        case .refused(let error):
            let calls = state.withLock { s in
                s.refused = error
                s.unsent.removeAll()
                defer { s.calls.removeAll() }
                return Array(s.calls.values)
            }
            for call in calls { Self.finish(call, with: .failure(error)) }
        case .received(let frames):
            received(frames)
        }
    }

    /// Removes the calls whose request went on a connection (or is going); returns them.
    private func takeSent(_ s: inout State) -> [Call] {
        let sent = s.calls.filter { $0.value.sentOn != nil || $0.value.sending }
        for id in sent.keys { s.calls[id] = nil }
        return Array(sent.values)
    }

    private func fail(_ calls: [Call], _ message: String) {
        guard !calls.isEmpty else { return }
        let error = RPCError(code: .unavailable, message: message, reason: RPCReason.unavailable)
        for call in calls { Self.finish(call, with: .failure(error)) }
    }

    /// Sends the requests that wait for a connection, oldest first, each with the budget left to its deadline.
    func flush(writable: Bool = false) {
        // Credit and cancel messages a full connection refused go first (``flushControl(writable:)``).
        flushControl(writable: writable)
        let batch: [(UInt64, [[UInt8]], UInt64)] = state.withLock { s in
            guard s.connected, s.started, !s.closed, !s.unsent.isEmpty else { return [] }
            let ids = s.unsent
            s.unsent.removeAll()
            let now = ContinuousClock.now
            return ids.compactMap { id in
                guard var call = s.calls[id] else { return nil }
                call.sending = true
                if let deadline = call.deadline { call.head.timeoutMicroseconds = Self.microseconds(deadline - now) }
                s.calls[id] = call
                return (id, RPCFrames.encode(.request(call.head, body: call.body)), s.epoch)
            }
        }
        for (id, frames, epoch) in batch {
            transport.send(frames) { result in self.sent(id, on: epoch, result) }
        }
    }

    /// The transport's word on one request.
    private func sent(_ callID: UInt64, on epoch: UInt64, _ result: RPCSendResult) {
        let (lost, waits): (Call?, Bool) = state.withLock { s in
            guard var call = s.calls[callID] else { return (nil, false) }
            call.sending = false
            switch result {
            case .sent where epoch == s.epoch:
                call.sentOn = epoch
                s.calls[callID] = call
                return (nil, false)
            case .wouldBlock where epoch == s.epoch:
                // No connection can take it now: it waits for `.writable` or `.connected`.
                s.requestsRefused += 1
                s.calls[callID] = call
                s.unsent.append(callID)
                return (nil, call.deadline == nil)
            default:
                // The connection changed while the request was on its way, or the transport is closed.
                s.calls[callID] = nil
                return (call, false)
            }
        }
        // A call without a deadline waits for a connection at most `connectTimeout`.
        if waits { armConnectTimeout(callID) }
        if let lost {
            fail([lost], "the connection to \(serverName) was lost while the call was being sent")
        }
    }

    /// What a message from the server means for its call.
    private enum Arrival {
        /// The call is not in flight (it ended, timed out or was cancelled): the message is dropped.
        case unknown
        /// A message of the call; `ended` holds the call when this message ended it (it carries the status).
        case message(Call.Sink, initialMetadata: RPCMetadata, ended: Call?, first: Bool)
        /// Stream messages past the credit granted: the call, taken out of the table, and how many of the message's
        /// stream messages were still within the credit (delivered before the call ends); the rest are dropped.
        case pastCredit(Call, within: Int)
        /// More stream messages in one server message than the call takes (its request's `batch`): the call, taken
        /// out of the table; the message is dropped.
        case oversizedBatch(Call)
    }

    /// A message from the server: an answer, a stream message, response metadata, or a probe (ignored). A message
    /// that does not decode ends its call when it names one in flight (``malformed(_:)``) and is dropped otherwise; one
    /// for a call no longer in flight (it timed out or was cancelled) is dropped. A
    /// stream message past the credit granted ends its call with INTERNAL (`CREDIT_EXCEEDED`) and cancels it on the
    /// server: the stream's buffer never holds more than the credit granted, whatever the server sends.
    private func received(_ frames: [[UInt8]]) {
        let message: RPCServerMessage
        do {
            message = try RPCFrames.decodeServer(frames)
        } catch {
            malformed(error)
            return
        }
        let headerOnly = message.body == nil && message.status == nil
        let arrival: Arrival = state.withLock { s in
            guard let i = s.calls.index(forKey: message.callID) else { return .unknown }
            // One in-place access: each `values[i].field` read copies the whole record (every reference in it
            // retained and released), and a stream's every message passes here.
            let step = Self.note(message, headerOnly: headerOnly, in: &s.calls.values[i])
            switch step {
            case .pastCredit(let within): return .pastCredit(s.calls.remove(at: i).value, within: within)
            case .oversizedBatch: return .oversizedBatch(s.calls.remove(at: i).value)
            case .ended(let first):
                let call = s.calls.remove(at: i).value
                return .message(call.sink, initialMetadata: call.initialMetadata, ended: call, first: first)
            case .goesOn(let sink, let initialMetadata, let first):
                return .message(sink, initialMetadata: initialMetadata, ended: nil, first: first)
            }
        }
        switch arrival {
        case .unknown:
            return
        case .pastCredit(let call, let within):
            if case .stream(let buffer, _) = call.sink, within > 0, let body = message.body {
                buffer.yield(contentsOf: CollectionOfOne(body) + message.batched.prefix(within - 1))
            }
            creditExceeded(call, by: message)
        case .oversizedBatch(let call):
            oversizedBatch(call, by: message)
        case .message(let sink, let initialMetadata, let ended, let first):
            deliver(message, to: sink, initialMetadata: initialMetadata, ended: ended, first: first)
        }
    }

    /// What a message does to its call, worked out on the call's record in place.
    private enum Step {
        /// Stream messages past the credit granted; `within` of them were still within it.
        case pastCredit(within: Int)
        /// More stream messages in one server message than the call takes.
        case oversizedBatch
        /// The message carries the status: the call ends.
        case ended(first: Bool)
        /// The call goes on; what the message is handed to.
        case goesOn(Call.Sink, initialMetadata: RPCMetadata, first: Bool)
    }

    /// Counts a message's stream messages (one, or a batch) against the credit and notes the call answered (and its
    /// response metadata, from a first message that carries only a header).
    private static func note(_ message: RPCServerMessage, headerOnly: Bool, in call: inout Call) -> Step {
        if case .stream = call.sink, message.body != nil {
            let count = UInt64(message.messageCount)
            if count > UInt64(max(1, call.head.batch ?? 1)) { return .oversizedBatch }
            if call.received + count > call.granted {
                let within = Int(call.granted - call.received)
                call.received = call.granted
                return .pastCredit(within: within)
            }
            call.received += count
        } else if !message.batched.isEmpty {
            return .oversizedBatch  // a unary call has one response message
        }
        let first = !call.answered
        call.answered = true
        if first && headerOnly { call.initialMetadata = message.metadata }
        if message.status != nil { return .ended(first: first) }
        return .goesOn(call.sink, initialMetadata: call.initialMetadata, first: first)
    }

    /// Hands a message of a call in flight to whoever waits for it; `ended` is the call when the message ended it.
    private func deliver(
        _ message: RPCServerMessage,
        to sink: Call.Sink,
        initialMetadata: RPCMetadata,
        ended: Call?,
        first: Bool
    ) {
        if case .stream(let buffer, let promise) = sink {
            // A call refused outright has no response metadata: the promise gets its error from `finish`.
            if first && (message.status?.isOK ?? true) { promise.resolve(.success(initialMetadata)) }
            if let body = message.body {
                if message.batched.isEmpty {
                    buffer.yield(body)
                } else {
                    buffer.yield(contentsOf: CollectionOfOne(body) + message.batched)
                }
            }
        }
        guard let status = message.status, let call = ended else { return }
        if status.isOK {
            Self.finish(
                call,
                with: .success(
                    RPCResponse(
                        body: message.body ?? [],
                        metadata: message.metadata,
                        initialMetadata: call.initialMetadata
                    )
                )
            )
        } else {
            Self.finish(call, with: .failure(RPCError(status: status, metadata: message.metadata)))
        }
    }

    /// A server message that does not decode. When it names a call in flight (its header decoded but disagrees with
    /// itself, or its metadata is invalid), that call ends with the decoding error (INTERNAL, `MALFORMED_FRAME`, or
    /// the metadata's own code) and the server is told to cancel it: waiting for an answer that already came broken
    /// would hang a call without a deadline. A message whose call cannot be told is dropped.
    private func malformed(_ error: RPCFrameError) {
        guard error.callID != 0, let call = state.withLock({ $0.calls.removeValue(forKey: error.callID) }) else {
            return
        }
        sendCancel(error.callID)
        var failure = error.error
        failure.message =
            "the server's message for call \(error.callID) (\(call.head.method)) is malformed: "
            + failure.message
        Self.finish(call, with: .failure(failure))
    }

    /// A server message with more stream messages than the call takes: the call ends INTERNAL (`MALFORMED_FRAME`)
    /// and the server is told to cancel it.
    private func oversizedBatch(_ call: Call, by message: RPCServerMessage) {
        let takes = call.head.batch.map { "at most \($0)" } ?? "one"
        cancelAndFail(
            call,
            by: message,
            RPCError(
                code: .internal,
                message: "the server sent \(message.messageCount) messages of \(call.head.method) (call "
                    + "\(message.callID)) in one server message; this call takes \(takes) at a time; the call was "
                    + "cancelled",
                reason: RPCReason.malformedFrame
            )
        )
    }

    /// The server sent a stream message past the credit granted, breaking the protocol: `call` (already out of the
    /// table) ends with INTERNAL (`CREDIT_EXCEEDED`) once its consumer has read the messages within the credit; the
    /// excess (the rest of a batch) is dropped. The server is told to cancel first (unless the message ended the
    /// call), so that the cancel leaves before anything the caller does on learning of the failure.
    private func creditExceeded(_ call: Call, by message: RPCServerMessage) {
        cancelAndFail(
            call,
            by: message,
            RPCError(
                code: .internal,
                message: "the server sent message \(call.received + 1) of stream \(call.head.method) (call "
                    + "\(message.callID)) past the credit of \(call.granted) messages granted; the call was cancelled",
                reason: RPCReason.creditExceeded
            )
        )
    }

    /// Ends `call` (already out of the table), broken by `message`, with `error`; tells the server to cancel it first
    /// unless the message was the call's last.
    private func cancelAndFail(_ call: Call, by message: RPCServerMessage, _ error: RPCError) {
        if message.status == nil { sendCancel(message.callID) }
        Self.finish(call, with: .failure(error))
    }
}
