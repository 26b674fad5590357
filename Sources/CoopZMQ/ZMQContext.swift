internal import CZeroMQ
import Synchronization

/// Facts about the linked libzmq. Thread-safe.
public enum ZMQ {
    /// The libzmq version, e.g. "4.3.4".
    public static var version: String {
        var major: Int32 = 0
        var minor: Int32 = 0
        var patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }

    /// Whether libzmq was built with CurveZMQ (libsodium).
    public static var hasCurve: Bool { zmq_has("curve") != 0 }
}

/// A libzmq context: the I/O threads and the sockets' shared state.
///
/// **Threading.** `Sendable`: libzmq contexts are thread-safe, and any thread may create sockets from one. Every
/// ``ZMQSocket`` keeps its context alive, so the context is terminated (`zmq_ctx_term`, which waits for its sockets
/// to close) only when the last socket and the last reference are gone; since sockets close in their `deinit`, a
/// context never waits for a socket that still exists.
public final class ZMQContext: Sendable {
    /// The raw `void *`; used only through thread-safe libzmq calls.
    nonisolated(unsafe) let handle: UnsafeMutableRawPointer
    private let sockets = Atomic<Int>(0)

    /// Sockets of this context created and not yet closed (a leak shows here: `zmq_ctx_term` would wait for them).
    public var openSocketCount: Int { sockets.load(ordering: .acquiring) }

    func socketOpened() { sockets.add(1, ordering: .relaxed) }
    func socketClosed() { sockets.subtract(1, ordering: .releasing) }

    /// A new context with `ioThreads` I/O threads (libzmq's default is 1).
    public init(ioThreads: Int32 = 1) throws(ZMQError) {
        guard let handle = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
        self.handle = handle
        guard zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads) == 0 else {
            let error = ZMQError.last("zmq_ctx_set(ZMQ_IO_THREADS)", "\(ioThreads)")
            zmq_ctx_term(handle)
            throw error
        }
        // Sockets are closed explicitly with their own linger; blocky contexts would hang a process on exit.
        zmq_ctx_set(handle, ZMQ_BLOCKY, 0)
    }

    deinit {
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }
}
