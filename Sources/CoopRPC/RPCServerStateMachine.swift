/// The server's protocol logic without I/O (grpc-swift's state machines, in small): it decodes each client message,
/// admits calls against the ``RPCCallTable``, grants credit, takes cancels, ends the calls of a peer that went away,
/// and says what the server must do — answer, start a handler, wake a stream, cancel a call. ``RPCServer`` holds it
/// behind its lock and does what it says through its transport.
///
/// **Threading.** A value; its owner serializes access.
struct RPCServerStateMachine: Sendable {
    /// What to do about one client message.
    enum Action: Sendable {
        /// Nothing (a message for a call that is not worth an answer).
        case none
        /// Answer the peer at once with this message (an error status, or a refusal).
        case answer(RPCServerMessage)
        /// A call was admitted: run its handler.
        case start(RPCRequest)
        /// A stream got credit: wake it if it waits.
        case creditGranted(RPCCallTable.Key)
        /// The client cancelled this call: stop its handler.
        case cancel(RPCCallTable.Key)
    }

    /// What a stream that wants to send one message may do.
    enum CreditTake: Sendable, Equatable {
        /// One unit of credit was taken: send.
        case taken
        /// No credit: wait for a grant.
        case wait
        /// The call is over (cancelled, its peer gone): stop.
        case gone
    }

    private(set) var table: RPCCallTable
    /// Largest request message answered with a status.
    let maxMessageBytes: Int
    /// Set when the server stops: new calls are answered UNAVAILABLE, calls in flight go on.
    private(set) var stopping = false
    /// Calls whose handler must stop or has stopped: cancelled by the client, their peer gone, or answered. A call
    /// leaves this set, and the table, once its last message is handed to the transport (``ended(_:)``).
    private(set) var finished: Set<RPCCallTable.Key> = []

    init(limits: RPCCallTable.Limits, maxMessageBytes: Int) {
        self.table = RPCCallTable(limits: limits)
        self.maxMessageBytes = maxMessageBytes
    }

    /// One message from `peer`: decodes it and says what to do.
    mutating func received(peer: [UInt8], frames: [[UInt8]], caller: String?) -> Action {
        let message: RPCClientMessage
        do {
            message = try RPCFrames.decodeClient(frames)
        } catch {
            return .answer(RPCServerMessage(callID: error.callID, status: error.error.status))
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
                return .answer(RPCServerMessage(callID: head.callID, status: status))
            }
            if stopping {
                let status = RPCStatus(
                    code: .unavailable,
                    message: "the server is stopping and takes no new calls",
                    reason: RPCReason.unavailable
                )
                return .answer(RPCServerMessage(callID: head.callID, status: status))
            }
            if let refused = table.open(key, method: head.method, credit: head.credit) {
                return .answer(RPCServerMessage(callID: head.callID, status: refused.status))
            }
            return .start(RPCRequest(head: head, body: body, peer: peer, caller: caller))
        case .credit(let callID, let credit):
            let key = RPCCallTable.Key(peer: peer, callID: callID)
            switch table.grant(key, credit: credit) {
            case .success:
                return .creditGranted(key)
            case .failure(let error):
                return .answer(RPCServerMessage(callID: callID, status: error.status))
            }
        case .cancel(let callID):
            let key = RPCCallTable.Key(peer: peer, callID: callID)
            guard table.credit(key) != nil else {
                let error = RPCError(
                    code: .notFound,
                    message: "cancel for call \(callID), which is not in flight",
                    reason: RPCReason.unknownCall
                )
                return .answer(RPCServerMessage(callID: callID, status: error.status))
            }
            finished.insert(key)
            return .cancel(key)
        }
    }

    /// `peer`'s connection is gone: its calls leave the table at once and must stop; returns them.
    mutating func peerGone(_ peer: [UInt8]) -> [RPCCallTable.Key] {
        let keys = table.peerGone(peer).map { RPCCallTable.Key(peer: peer, callID: $0) }
        finished.formUnion(keys)
        return keys
    }

    /// Takes one unit of credit for a stream message, or says to wait or stop.
    mutating func takeCredit(_ key: RPCCallTable.Key) -> CreditTake {
        guard !finished.contains(key), table.credit(key) != nil else { return .gone }
        return table.takeCredit(key) ? .taken : .wait
    }

    /// Whether a stream waiting for credit should wake: credit arrived, or the call is over.
    func creditAvailable(_ key: RPCCallTable.Key) -> Bool {
        finished.contains(key) || (table.credit(key).map { $0 > 0 } ?? true)
    }

    /// Whether the call must stop (or has stopped).
    func isFinished(_ key: RPCCallTable.Key) -> Bool { finished.contains(key) }

    /// The handler of `key` is done (answered, failed, or stopped): later cancels find it finished.
    mutating func handlerDone(_ key: RPCCallTable.Key) {
        finished.insert(key)
    }

    /// The call's last message was handed to the transport: it leaves the table. Credit or a cancel that the client
    /// sent before it saw the end is then answered NOT_FOUND after the end, which the client ignores.
    mutating func ended(_ key: RPCCallTable.Key) {
        table.close(key)
        finished.remove(key)
    }

    /// The server stops taking calls.
    mutating func stop() {
        stopping = true
    }
}
