internal import CZeroMQ

extension ZMQSocket {
    /// An integer socket option (`zmq_setsockopt` with an `int`).
    public struct IntOption: Sendable, Hashable, CustomStringConvertible {
        let value: Int32
        public let description: String

        /// Milliseconds unsent messages are kept after close (`ZMQ_LINGER`).
        public static let linger = IntOption(value: ZMQ_LINGER, description: "ZMQ_LINGER")
        /// Outgoing queue limit in messages (`ZMQ_SNDHWM`).
        public static let sendHighWaterMark = IntOption(value: ZMQ_SNDHWM, description: "ZMQ_SNDHWM")
        /// Incoming queue limit in messages (`ZMQ_RCVHWM`).
        public static let receiveHighWaterMark = IntOption(value: ZMQ_RCVHWM, description: "ZMQ_RCVHWM")
        /// ROUTER: fail with `EHOSTUNREACH` instead of dropping a message for an unknown peer.
        public static let routerMandatory = IntOption(value: ZMQ_ROUTER_MANDATORY, description: "ZMQ_ROUTER_MANDATORY")
        /// Queue messages only to completed connections (`ZMQ_IMMEDIATE`).
        public static let immediate = IntOption(value: ZMQ_IMMEDIATE, description: "ZMQ_IMMEDIATE")
        /// Be the CurveZMQ server (`ZMQ_CURVE_SERVER`, 1).
        public static let curveServer = IntOption(value: ZMQ_CURVE_SERVER, description: "ZMQ_CURVE_SERVER")
        /// ZMTP heartbeat interval, ms (`ZMQ_HEARTBEAT_IVL`; 0: off).
        public static let heartbeatInterval = IntOption(value: ZMQ_HEARTBEAT_IVL, description: "ZMQ_HEARTBEAT_IVL")
        /// Time without a heartbeat reply before the connection is closed, ms (`ZMQ_HEARTBEAT_TIMEOUT`).
        public static let heartbeatTimeout = IntOption(
            value: ZMQ_HEARTBEAT_TIMEOUT,
            description: "ZMQ_HEARTBEAT_TIMEOUT"
        )
        /// Time the peer may wait for our heartbeats before it drops us, ms (`ZMQ_HEARTBEAT_TTL`).
        public static let heartbeatTTL = IntOption(value: ZMQ_HEARTBEAT_TTL, description: "ZMQ_HEARTBEAT_TTL")
        /// Maximum time for the ZMTP handshake, ms (`ZMQ_HANDSHAKE_IVL`).
        public static let handshakeInterval = IntOption(value: ZMQ_HANDSHAKE_IVL, description: "ZMQ_HANDSHAKE_IVL")
        /// Initial reconnect interval, ms (`ZMQ_RECONNECT_IVL`).
        public static let reconnectInterval = IntOption(value: ZMQ_RECONNECT_IVL, description: "ZMQ_RECONNECT_IVL")
        /// Largest reconnect interval, ms (`ZMQ_RECONNECT_IVL_MAX`).
        public static let reconnectIntervalMax = IntOption(
            value: ZMQ_RECONNECT_IVL_MAX,
            description: "ZMQ_RECONNECT_IVL_MAX"
        )
        /// A blocking receive gives up after this many ms with `EAGAIN` (`ZMQ_RCVTIMEO`; -1: never).
        public static let receiveTimeout = IntOption(value: ZMQ_RCVTIMEO, description: "ZMQ_RCVTIMEO")
        /// A blocking send gives up after this many ms with `EAGAIN` (`ZMQ_SNDTIMEO`; -1: never).
        public static let sendTimeout = IntOption(value: ZMQ_SNDTIMEO, description: "ZMQ_SNDTIMEO")
        /// Whether another frame of the current message follows (`ZMQ_RCVMORE`, read only).
        public static let receiveMore = IntOption(value: ZMQ_RCVMORE, description: "ZMQ_RCVMORE")
    }

    /// A 64-bit integer socket option.
    public struct Int64Option: Sendable, Hashable, CustomStringConvertible {
        let value: Int32
        public let description: String

        /// Largest inbound message in bytes; a peer sending more is disconnected (`ZMQ_MAXMSGSIZE`, -1: none).
        public static let maxMessageSize = Int64Option(value: ZMQ_MAXMSGSIZE, description: "ZMQ_MAXMSGSIZE")
    }

    /// A binary or string socket option.
    public struct BytesOption: Sendable, Hashable, CustomStringConvertible {
        let value: Int32
        public let description: String

        /// The identity a ROUTER peer sees (`ZMQ_ROUTING_ID`).
        public static let routingID = BytesOption(value: ZMQ_ROUTING_ID, description: "ZMQ_ROUTING_ID")
        /// SUB: subscribe to messages starting with these bytes (`ZMQ_SUBSCRIBE`).
        public static let subscribe = BytesOption(value: ZMQ_SUBSCRIBE, description: "ZMQ_SUBSCRIBE")
        /// This socket's long-term CurveZMQ public key, 32 bytes (`ZMQ_CURVE_PUBLICKEY`).
        public static let curvePublicKey = BytesOption(value: ZMQ_CURVE_PUBLICKEY, description: "ZMQ_CURVE_PUBLICKEY")
        /// This socket's long-term CurveZMQ secret key, 32 bytes (`ZMQ_CURVE_SECRETKEY`).
        public static let curveSecretKey = BytesOption(value: ZMQ_CURVE_SECRETKEY, description: "ZMQ_CURVE_SECRETKEY")
        /// Client: the server's public key, 32 bytes (`ZMQ_CURVE_SERVERKEY`).
        public static let curveServerKey = BytesOption(value: ZMQ_CURVE_SERVERKEY, description: "ZMQ_CURVE_SERVERKEY")
        /// Server: the ZAP domain its handshakes are authenticated in (`ZMQ_ZAP_DOMAIN`).
        public static let zapDomain = BytesOption(value: ZMQ_ZAP_DOMAIN, description: "ZMQ_ZAP_DOMAIN")
        /// The endpoint last bound, read only (`ZMQ_LAST_ENDPOINT`).
        public static let lastEndpoint = BytesOption(value: ZMQ_LAST_ENDPOINT, description: "ZMQ_LAST_ENDPOINT")
    }

    /// Sets an integer option.
    public func set(_ option: IntOption, _ value: Int32) throws(ZMQError) {
        let handle = try checkedHandle("zmq_setsockopt")
        var v = value
        guard zmq_setsockopt(handle, option.value, &v, MemoryLayout<Int32>.size) == 0 else {
            throw ZMQError.last("zmq_setsockopt(\(option))", "\(value)")
        }
    }

    /// Sets an integer option that counts milliseconds (a linger, an interval, a timeout) from a duration, in whole
    /// milliseconds, clamped to what the option holds.
    public func set(_ option: IntOption, _ duration: Duration) throws(ZMQError) {
        try set(option, ZMQHeartbeat.milliseconds(duration))
    }

    /// Sets a 64-bit integer option.
    public func set(_ option: Int64Option, _ value: Int64) throws(ZMQError) {
        let handle = try checkedHandle("zmq_setsockopt")
        var v = value
        guard zmq_setsockopt(handle, option.value, &v, MemoryLayout<Int64>.size) == 0 else {
            throw ZMQError.last("zmq_setsockopt(\(option))", "\(value)")
        }
    }

    /// Sets a binary option.
    public func set(_ option: BytesOption, _ value: [UInt8]) throws(ZMQError) {
        let handle = try checkedHandle("zmq_setsockopt")
        let result = value.withUnsafeBytes { zmq_setsockopt(handle, option.value, $0.baseAddress, $0.count) }
        guard result == 0 else { throw ZMQError.last("zmq_setsockopt(\(option))", "\(value.count) bytes") }
    }

    /// Sets a string option.
    public func set(_ option: BytesOption, _ value: String) throws(ZMQError) {
        try set(option, Array(value.utf8))
    }

    /// Reads an integer option.
    public func int(_ option: IntOption) throws(ZMQError) -> Int32 {
        let handle = try checkedHandle("zmq_getsockopt")
        var v: Int32 = 0
        var size = MemoryLayout<Int32>.size
        guard zmq_getsockopt(handle, option.value, &v, &size) == 0 else {
            throw ZMQError.last("zmq_getsockopt(\(option))")
        }
        return v
    }

    /// Reads a string option (such as ``BytesOption/lastEndpoint``).
    public func string(_ option: BytesOption) throws(ZMQError) -> String {
        let handle = try checkedHandle("zmq_getsockopt")
        var buffer = [UInt8](repeating: 0, count: 1024)
        var size = buffer.count
        guard zmq_getsockopt(handle, option.value, &buffer, &size) == 0 else {
            throw ZMQError.last("zmq_getsockopt(\(option))")
        }
        return String(decoding: buffer.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
}
