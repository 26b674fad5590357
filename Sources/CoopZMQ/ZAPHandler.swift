/// A ZeroMQ Authentication Protocol (ZAP, RFC 27) handler that admits only the CurveZMQ public keys it is given.
///
/// **Threading.** Install it on a reactor with ``install(on:)``: its REP socket is bound at
/// `inproc://zeromq.zap.01` in that reactor's context and answered on the reactor's thread. The admitted keys are a
/// `Sendable` value fixed at creation. One handler per context (libzmq has one ZAP endpoint per context).
///
/// Each admitted connection gets the key's member id as its ZAP user id, which a server reads from every message it
/// receives (``ZMQSocket/receiveWithUserID(blocking:)``): the caller's identity comes from the authenticated key, never
/// from a field of the request. Every refusal is reported through `onRefusal` (for the log) with the key.
public struct ZAPHandler: Sendable {
    /// Member id by 32-byte CurveZMQ public key.
    public let admitted: [[UInt8]: String]
    /// Called on the reactor thread for each refused handshake: the key (Z85), the peer address, and why.
    public let onRefusal: @Sendable (_ key: String, _ address: String, _ reason: String) -> Void

    public init(
        admitted: [[UInt8]: String],
        onRefusal: @escaping @Sendable (_ key: String, _ address: String, _ reason: String) -> Void = { _, _, _ in }
    ) {
        self.admitted = admitted
        self.onRefusal = onRefusal
    }

    /// The endpoint libzmq asks.
    public static let endpoint = "inproc://zeromq.zap.01"

    /// Binds the handler's socket on `reactor` and answers requests there until the reactor shuts down.
    public func install(on reactor: ZMQReactor) async throws {
        try await reactor.run { registry in
            let socket = try ZMQSocket(registry.context, type: .rep)
            try socket.bind(Self.endpoint)
            registry.register(socket) { socket in
                while let request = try? socket.receive(blocking: false) {
                    _ = try? socket.send(self.reply(to: request))
                }
            }
        }
    }

    /// The reply to one ZAP request (pure: exposed for tests).
    public func reply(to request: [[UInt8]]) -> [[UInt8]] {
        // version, request id, domain, address, routing id, mechanism, credentials…
        guard request.count >= 6, request[0] == Array("1.0".utf8) else {
            return [
                Array("1.0".utf8), request.count > 1 ? request[1] : [], Array("500".utf8),
                Array("bad ZAP request".utf8), [], [],
            ]
        }
        let requestID = request[1]
        let address = String(decoding: request[3], as: UTF8.self)
        let mechanism = String(decoding: request[5], as: UTF8.self)
        func answer(_ code: String, _ text: String, user: String = "") -> [[UInt8]] {
            [Array("1.0".utf8), requestID, Array(code.utf8), Array(text.utf8), Array(user.utf8), []]
        }
        guard mechanism == "CURVE", request.count >= 7, request[6].count == 32 else {
            onRefusal("-", address, "mechanism \(mechanism) is not CURVE")
            return answer("400", "only CURVE is admitted")
        }
        let key = request[6]
        guard let member = admitted[key] else {
            onRefusal(ZMQCurve.z85(key), address, "the key is not in the roster")
            return answer("400", "key not in the roster")
        }
        return answer("200", "OK", user: member)
    }
}
