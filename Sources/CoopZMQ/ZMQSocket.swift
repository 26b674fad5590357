internal import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One libzmq socket.
///
/// **Threading.** Not `Sendable`, and the compiler enforces it: a libzmq socket is not thread-safe, so a socket is
/// created, used and closed by one thread — in this package, a ``ZMQReactor``'s thread, or a test's own synchronous
/// code. The socket keeps its ``ZMQContext`` alive and closes itself in `deinit` (or at ``close()``) with the linger
/// set at creation, which is always explicit.
///
/// **Errors.** Each call is checked; `EINTR` is retried; `zmq_errno()` is read at once on the failing thread and
/// thrown as a ``ZMQError`` naming the call and its subject. "Would block" is not an error: the non-blocking send and
/// receive return `false`/`nil`.
public final class ZMQSocket {
    /// The socket's type.
    public let type: SocketType
    /// The context it belongs to (kept alive by the socket).
    public let context: ZMQContext
    private var handle: UnsafeMutableRawPointer?
    /// A `zmq_msg_t` at a stable heap address, reused for every frame received.
    private let message: UnsafeMutablePointer<zmq_msg_t>
    /// The ZAP user id of the last message received with ``receiveWithUserID(blocking:maxBytes:)``.
    private var lastUserID: String?

    /// A new socket of `type` in `context`, with `ZMQ_LINGER` set to `lingerMs` (-1: wait for ever, 0: drop unsent
    /// messages at close).
    public init(_ context: ZMQContext, type: SocketType, lingerMs: Int32 = 0) throws(ZMQError) {
        guard let handle = zmq_socket(context.handle, type.rawValue) else {
            throw ZMQError.last("zmq_socket", "\(type)")
        }
        self.type = type
        self.context = context
        self.handle = handle
        self.message = .allocate(capacity: 1)
        zmq_msg_init(message)
        context.socketOpened()
        try set(.linger, lingerMs)
    }

    deinit {
        close()
        zmq_msg_close(message)
        message.deallocate()
    }

    /// Whether ``close()`` was called.
    public var isClosed: Bool { handle == nil }

    /// Closes the socket; pending outgoing messages are kept for the linger period by libzmq's I/O thread. Calling
    /// it again does nothing.
    public func close() {
        guard let handle else { return }
        zmq_close(handle)
        self.handle = nil
        context.socketClosed()
    }

    /// The raw handle for `zmq_poll`; throws ``ZMQError/Code/closed`` after ``close()``.
    func checkedHandle(_ call: String) throws(ZMQError) -> UnsafeMutableRawPointer {
        guard let handle else {
            throw ZMQError(code: .closed, message: "\(call): the \(type) socket is closed", call: call)
        }
        return handle
    }

    // MARK: Endpoints

    /// Binds to `endpoint` (`tcp://127.0.0.1:0` picks a free port) and returns the endpoint actually bound, read back
    /// from `ZMQ_LAST_ENDPOINT`.
    @discardableResult
    public func bind(_ endpoint: String) throws(ZMQError) -> String {
        let handle = try checkedHandle("zmq_bind")
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError.last("zmq_bind", endpoint) }
        return try string(.lastEndpoint)
    }

    /// Connects to `endpoint`; libzmq connects (and reconnects) in the background.
    public func connect(_ endpoint: String) throws(ZMQError) {
        let handle = try checkedHandle("zmq_connect")
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError.last("zmq_connect", endpoint) }
    }

    /// Disconnects from `endpoint`.
    public func disconnect(_ endpoint: String) throws(ZMQError) {
        let handle = try checkedHandle("zmq_disconnect")
        guard zmq_disconnect(handle, endpoint) == 0 else { throw ZMQError.last("zmq_disconnect", endpoint) }
    }

    // MARK: Sending and receiving

    /// Sends `frames` as one multipart message. Returns `false`, sending nothing, when `blocking` is false and the
    /// message cannot be queued now (high-water mark reached, or no peer yet); throws for real errors (for a ROUTER
    /// with `routerMandatory`, ``ZMQError/Code/hostUnreachable`` when the first frame names no connected peer).
    @discardableResult
    public func send(_ frames: [[UInt8]], blocking: Bool = true) throws(ZMQError) -> Bool {
        let handle = try checkedHandle("zmq_send")
        guard !frames.isEmpty else {
            throw ZMQError(code: .invalidArgument, message: "zmq_send: a message has at least one frame")
        }
        for (i, frame) in frames.enumerated() {
            var flags: Int32 = i < frames.count - 1 ? ZMQ_SNDMORE : 0
            // Only the first frame may be refused for lack of room: libzmq then takes the whole message.
            if !blocking && i == 0 { flags |= ZMQ_DONTWAIT }
            while true {
                let sent = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
                if sent >= 0 { break }
                let code = zmq_errno()
                if code == EINTR { continue }
                if code == EAGAIN && i == 0 && !blocking { return false }
                throw ZMQError.lastError("zmq_send", "\(type) socket, frame \(i) of \(frames.count)", errno: code)
            }
        }
        return true
    }

    /// Sends one frame whose bytes are handed to libzmq without a copy: `buffer` must come from `malloc` (for
    /// example a protobuf-c packed message); libzmq frees it when it has sent it. On a throw or a `false` return
    /// the buffer has been freed too.
    @discardableResult
    public func send(
        taking buffer: UnsafeMutableRawBufferPointer,
        more: Bool = false,
        blocking: Bool = true
    )
        throws(ZMQError) -> Bool
    {
        let handle = try checkedHandle("zmq_msg_send")
        let message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        defer { message.deallocate() }
        let release: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { data, _ in
            free(data)
        }
        guard zmq_msg_init_data(message, buffer.baseAddress, buffer.count, release, nil) == 0 else {
            let error = ZMQError.last("zmq_msg_init_data")
            free(buffer.baseAddress)
            throw error
        }
        var flags: Int32 = more ? ZMQ_SNDMORE : 0
        if !blocking { flags |= ZMQ_DONTWAIT }
        while zmq_msg_send(message, handle, flags) < 0 {
            let code = zmq_errno()
            if code == EINTR { continue }
            zmq_msg_close(message)  // frees the buffer through `release`
            if code == EAGAIN && !blocking { return false }
            throw ZMQError.lastError("zmq_msg_send", "\(type) socket", errno: code)
        }
        return true
    }

    /// Receives one multipart message and the ZAP user id its connection was authenticated as (the member id the
    /// ``ZAPHandler`` gave; `nil` without authentication). Returns `nil` when nothing is waiting and `blocking` is
    /// false.
    public func receiveWithUserID(
        blocking: Bool = true,
        maxBytes: Int = .max
    ) throws(ZMQError) -> (
        frames: [[UInt8]], userID: String?
    )? {
        guard let frames = try receive(blocking: blocking, maxBytes: maxBytes, readUserID: true) else { return nil }
        return (frames, lastUserID)
    }

    /// Receives one multipart message (every frame). Returns `nil` when `blocking` is false and nothing is waiting.
    /// A message whose total size is over `maxBytes` is read to its end and refused with
    /// ``ZMQError/Code/messageTooLarge`` (the socket stays usable).
    public func receive(blocking: Bool = true, maxBytes: Int = .max) throws(ZMQError) -> [[UInt8]]? {
        try receive(blocking: blocking, maxBytes: maxBytes, readUserID: false)
    }

    private func receive(blocking: Bool, maxBytes: Int, readUserID: Bool) throws(ZMQError) -> [[UInt8]]? {
        let handle = try checkedHandle("zmq_msg_recv")
        lastUserID = nil
        var frames: [[UInt8]] = []
        var total = 0
        var tooLarge = false
        repeat {
            let flags: Int32 = (!blocking && frames.isEmpty && !tooLarge) ? ZMQ_DONTWAIT : 0
            var size: Int32
            repeat {
                size = zmq_msg_recv(message, handle, flags)
            } while size < 0 && zmq_errno() == EINTR
            if size < 0 {
                let code = zmq_errno()
                if code == EAGAIN && !blocking && frames.isEmpty && !tooLarge { return nil }
                throw ZMQError.lastError("zmq_msg_recv", "\(type) socket", errno: code)
            }
            let count = zmq_msg_size(message)
            // A ROUTER makes up the routing-id frame itself; the frames from the wire carry the connection's
            // metadata, so take the first frame that has it.
            if readUserID && lastUserID == nil, let user = zmq_msg_gets(message, "User-Id") {
                lastUserID = String(cString: user)
            }
            total += count
            if total > maxBytes { tooLarge = true }
            if !tooLarge {
                frames.append([UInt8](UnsafeRawBufferPointer(start: zmq_msg_data(message), count: count)))
            }
        } while zmq_msg_more(message) != 0
        if tooLarge {
            throw ZMQError(
                code: .messageTooLarge,
                message: "a message of \(total) bytes arrived on a \(type) socket; the limit is \(maxBytes)"
            )
        }
        return frames
    }
}

@available(*, unavailable)
extension ZMQSocket: Sendable {}

extension ZMQSocket {
    /// libzmq socket types used here.
    public enum SocketType: Int32, Sendable, CustomStringConvertible {
        case pair = 0
        case pub = 1
        case sub = 2
        case req = 3
        case rep = 4
        case dealer = 5
        case router = 6
        case pull = 7
        case push = 8

        public var description: String {
            switch self {
            case .pair: "PAIR"
            case .pub: "PUB"
            case .sub: "SUB"
            case .req: "REQ"
            case .rep: "REP"
            case .dealer: "DEALER"
            case .router: "ROUTER"
            case .pull: "PULL"
            case .push: "PUSH"
            }
        }
    }
}
