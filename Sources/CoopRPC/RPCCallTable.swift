/// The server's book of calls in flight, per caller: admission against limits, duplicate ids, stream credit and
/// cancellation. No I/O: each `mutating func` returns what the server must do, and the server does it.
///
/// **Threading.** A value; one owner (the server's reactor thread or its lock) mutates it.
///
/// **Credit.** A server stream may send as many messages as the credit granted so far (the request's `credit`, or
/// ``Limits/defaultCredit``, plus every later `StreamCredit`); past it the server waits. The final status needs no
/// credit. Credit for a call that is not in flight is answered NOT_FOUND (`UNKNOWN_CALL`), never ignored silently.
public struct RPCCallTable: Sendable {
    /// Bounds that keep the server from queuing without end.
    public struct Limits: Sendable, Hashable {
        /// Calls in flight for the whole server; past it RESOURCE_EXHAUSTED (`OVERLOADED`).
        public var maxCalls: Int
        /// Calls in flight for one caller identity.
        public var maxCallsPerPeer: Int
        /// Credit of a server stream whose request names none.
        public var defaultCredit: UInt32

        public init(maxCalls: Int = 1024, maxCallsPerPeer: Int = 128, defaultCredit: UInt32 = 64) {
            self.maxCalls = maxCalls
            self.maxCallsPerPeer = maxCallsPerPeer
            self.defaultCredit = defaultCredit
        }
    }

    /// Names one call: who called (the ROUTER's routing id, or the transport's peer id) and the call id it chose.
    public struct Key: Hashable, Sendable {
        public var peer: [UInt8]
        public var callID: UInt64

        public init(peer: [UInt8], callID: UInt64) {
            self.peer = peer
            self.callID = callID
        }

        /// The peer's bytes in one piece (the synthesized hash fed them to the hasher one byte at a time: every
        /// stream message looks its call up).
        public func hash(into hasher: inout Hasher) {
            hasher.combine(callID)
            hasher.combine(peer.count)
            peer.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    struct Call: Sendable {
        var method: String
        /// Messages the server may still send.
        var credit: UInt64
    }

    public let limits: Limits
    private var calls: [Key: Call] = [:]
    private var perPeer: [[UInt8]: Int] = [:]

    public init(limits: Limits = Limits()) {
        self.limits = limits
    }

    /// Calls in flight.
    public var count: Int { calls.count }

    /// Calls in flight from `peer`.
    public func count(of peer: [UInt8]) -> Int { perPeer[peer] ?? 0 }

    /// Admits a new call, or says why not (the server answers the call with that error and runs nothing).
    public mutating func open(_ key: Key, method: String, credit: UInt32?) -> RPCError? {
        if calls[key] != nil {
            return RPCError(
                code: .alreadyExists,
                message: "call id \(key.callID) is already in flight on this connection",
                reason: RPCReason.duplicateCallID
            )
        }
        if calls.count >= limits.maxCalls {
            return RPCError(
                code: .resourceExhausted,
                message: "the server has \(calls.count) calls in flight, its limit; try again later",
                reason: RPCReason.overloaded
            )
        }
        if count(of: key.peer) >= limits.maxCallsPerPeer {
            return RPCError(
                code: .resourceExhausted,
                message: "this caller has \(count(of: key.peer)) calls in flight, the limit per caller",
                reason: RPCReason.overloaded
            )
        }
        calls[key] = Call(method: method, credit: UInt64(credit ?? limits.defaultCredit))
        perPeer[key.peer, default: 0] += 1
        return nil
    }

    /// Adds credit to a call's stream; returns the credit now available, or the error to answer with.
    public mutating func grant(_ key: Key, credit: UInt32) -> Result<UInt64, RPCError> {
        guard var call = calls[key] else {
            return .failure(
                RPCError(
                    code: .notFound,
                    message: "credit for call \(key.callID), which is not in flight",
                    reason: RPCReason.unknownCall
                )
            )
        }
        call.credit += UInt64(credit)
        calls[key] = call
        return .success(call.credit)
    }

    /// Takes one unit of credit to send a stream message; `false` when the call must wait for more (or is gone).
    public mutating func takeCredit(_ key: Key) -> Bool {
        guard var call = calls[key], call.credit > 0 else { return false }
        call.credit -= 1
        calls[key] = call
        return true
    }

    /// Credit a call has now, or `nil` when it is not in flight.
    public func credit(_ key: Key) -> UInt64? { calls[key]?.credit }

    /// Ends a call (answered, cancelled or failed); returns whether it was in flight.
    @discardableResult
    public mutating func close(_ key: Key) -> Bool {
        guard calls.removeValue(forKey: key) != nil else { return false }
        let left = (perPeer[key.peer] ?? 1) - 1
        perPeer[key.peer] = left > 0 ? left : nil
        return true
    }

    /// A cancel from the client: the call to cancel, or the error to answer with when it is not in flight.
    public mutating func cancel(_ key: Key) -> RPCError? {
        guard close(key) else {
            return RPCError(
                code: .notFound,
                message: "cancel for call \(key.callID), which is not in flight",
                reason: RPCReason.unknownCall
            )
        }
        return nil
    }

    /// The caller went away (disconnected, or its heartbeat timed out): every call of it ends; returns their ids.
    public mutating func peerGone(_ peer: [UInt8]) -> [UInt64] {
        let gone = calls.keys.filter { $0.peer == peer }
        for key in gone { close(key) }
        return gone.map(\.callID).sorted()
    }
}
