internal import CZeroMQ

/// ZMTP heartbeats (ZMTP 3.1 PING/PONG): how a socket finds out that the peer at the other end of a connection is
/// gone when no TCP reset ever comes (the peer's host lost power, a cable was pulled, the peer process hangs).
///
/// A plain value; thread-safe. Set it on a socket before `connect`/`bind` with ``ZMQSocket/set(_:)-(ZMQHeartbeat)``.
/// With heartbeats on, a socket sends a PING every ``interval``; when nothing at all arrives from the peer within
/// ``timeout`` after a PING, libzmq closes the connection (a socket monitor then reports
/// ``ZMQMonitorEvent/Kind/disconnected``, a ROUTER forgets the peer's routing id, and a connecting socket reconnects
/// in the background). ``ttl`` travels in each PING and tells the peer to drop the connection when it hears nothing
/// from us for that long (libzmq keeps it in tenths of a second, at most 6553.5 s).
public struct ZMQHeartbeat: Sendable, Hashable, CustomStringConvertible {
    /// Time between PINGs (`ZMQ_HEARTBEAT_IVL`); zero turns heartbeats off.
    public var interval: Duration
    /// Time without any traffic after a PING before the connection is closed (`ZMQ_HEARTBEAT_TIMEOUT`).
    public var timeout: Duration
    /// Time the peer may go without hearing from us before it drops the connection (`ZMQ_HEARTBEAT_TTL`).
    public var ttl: Duration

    public init(interval: Duration, timeout: Duration, ttl: Duration) {
        self.interval = interval
        self.timeout = timeout
        self.ttl = ttl
    }

    /// A PING every second; a peer silent for 3 s is dropped, and so are we by a peer that hears nothing for 3 s.
    public static let standard = ZMQHeartbeat(interval: .seconds(1), timeout: .seconds(3), ttl: .seconds(3))

    /// No heartbeats: a dead peer is noticed only when TCP says so.
    public static let off = ZMQHeartbeat(interval: .zero, timeout: .zero, ttl: .zero)

    /// Whether heartbeats are on.
    public var isOn: Bool { interval > .zero }

    public var description: String {
        isOn ? "heartbeat every \(interval), timeout \(timeout), ttl \(ttl)" : "no heartbeat"
    }

    /// Whole milliseconds, clamped to what a libzmq `int` option holds (and to `limit`).
    static func milliseconds(_ duration: Duration, limit: Int64 = Int64(Int32.max)) -> Int32 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        let total = overflow ? Int64.max : whole &+ attoseconds / 1_000_000_000_000_000
        return Int32(min(total, limit))
    }
}

extension ZMQSocket {
    /// Sets the three heartbeat options; takes effect for connections made afterwards.
    public func set(_ heartbeat: ZMQHeartbeat) throws(ZMQError) {
        guard heartbeat.isOn else {
            try set(.heartbeatInterval, 0)
            return
        }
        try set(.heartbeatInterval, ZMQHeartbeat.milliseconds(heartbeat.interval))
        try set(.heartbeatTimeout, ZMQHeartbeat.milliseconds(heartbeat.timeout))
        // libzmq sends the TTL in deciseconds in a 16-bit field and refuses more.
        try set(.heartbeatTTL, ZMQHeartbeat.milliseconds(heartbeat.ttl, limit: 6_553_500))
    }
}
