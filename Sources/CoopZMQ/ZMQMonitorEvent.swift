internal import CZeroMQ

/// A socket monitor event (`zmq_socket_monitor`), typed.
///
/// A plain value. libzmq alone tells a client nothing when a server refuses its CurveZMQ handshake (the client just
/// waits); these events are how the RPC layer turns a refusal into a clear error.
public struct ZMQMonitorEvent: Sendable, Hashable, CustomStringConvertible {
    /// What happened.
    public enum Kind: Sendable, Hashable {
        case connected
        case connectDelayed
        case connectRetried
        case listening
        case bindFailed
        case accepted
        case acceptFailed
        case closed
        case closeFailed
        case disconnected
        case monitorStopped
        /// The ZMTP handshake failed for a reason libzmq does not detail (for example a timeout).
        case handshakeFailedNoDetail
        case handshakeSucceeded
        /// The peer broke the ZMTP protocol; `value` is libzmq's `ZMQ_PROTOCOL_ERROR_*` code.
        case handshakeFailedProtocol
        /// Authentication failed; `value` is the ZAP status code (300 temporary, 400 refused, 500 internal).
        case handshakeFailedAuth
        case other(UInt16)
    }

    public var kind: Kind
    /// The event's value: a file descriptor, an errno, a reconnect interval or a ZAP/protocol code, by kind.
    public var value: UInt32
    /// The endpoint the event is about.
    public var endpoint: String

    public init(kind: Kind, value: UInt32, endpoint: String) {
        self.kind = kind
        self.value = value
        self.endpoint = endpoint
    }

    /// Decodes the two frames a monitor socket receives; `nil` if they are not an event.
    public init?(frames: [[UInt8]]) {
        guard frames.count == 2, frames[0].count == 6 else { return nil }
        // libzmq writes both numbers in the host's byte order.
        let raw = frames[0].withUnsafeBytes { $0.loadUnaligned(as: UInt16.self) }
        value = frames[0].withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 2, as: UInt32.self) }
        endpoint = String(decoding: frames[1], as: UTF8.self)
        kind = Self.kind(raw)
    }

    static func kind(_ raw: UInt16) -> Kind {
        switch Int32(raw) {
        case ZMQ_EVENT_CONNECTED: .connected
        case ZMQ_EVENT_CONNECT_DELAYED: .connectDelayed
        case ZMQ_EVENT_CONNECT_RETRIED: .connectRetried
        case ZMQ_EVENT_LISTENING: .listening
        case ZMQ_EVENT_BIND_FAILED: .bindFailed
        case ZMQ_EVENT_ACCEPTED: .accepted
        case ZMQ_EVENT_ACCEPT_FAILED: .acceptFailed
        case ZMQ_EVENT_CLOSED: .closed
        case ZMQ_EVENT_CLOSE_FAILED: .closeFailed
        case ZMQ_EVENT_DISCONNECTED: .disconnected
        case ZMQ_EVENT_MONITOR_STOPPED: .monitorStopped
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: .handshakeFailedNoDetail
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: .handshakeSucceeded
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: .handshakeFailedProtocol
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: .handshakeFailedAuth
        default: .other(raw)
        }
    }

    public var description: String { "\(kind) \(endpoint) (\(value))" }
}

extension ZMQSocket {
    /// Starts monitoring this socket and returns a PAIR socket on the same thread that receives its events (read
    /// them with ``receive(blocking:maxBytes:)`` and ``ZMQMonitorEvent/init(frames:)``). `name` must be unique in the
    /// context; it names the inproc endpoint.
    public func makeMonitor(name: String) throws(ZMQError) -> ZMQSocket {
        let handle = try checkedHandle("zmq_socket_monitor")
        let endpoint = "inproc://monitor-\(name)"
        guard zmq_socket_monitor(handle, endpoint, ZMQ_EVENT_ALL) == 0 else {
            throw ZMQError.last("zmq_socket_monitor", endpoint)
        }
        let monitor = try ZMQSocket(context, type: .pair)
        try monitor.connect(endpoint)
        return monitor
    }
}
