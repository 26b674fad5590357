internal import CZeroMQ
import Foundation
import Synchronization

/// One thread that owns ZeroMQ sockets and waits on them in `zmq_poll` (swift-nio's event loop, in small).
///
/// **Threading.** The reactor is `Sendable`; its sockets are not, and never leave its thread. Work reaches the
/// thread as closures: ``execute(_:)`` queues one (fire and forget), ``executeInline(_:)`` runs one at once when
/// called on the reactor's own thread (and queues it otherwise), and ``run(_:)`` queues one and awaits its result.
/// Queued closures run in the order queued, one at a time, on the reactor thread, with the thread's
/// ``ZMQReactor/Registry``: there they create sockets, register a handler to be called when a socket is readable,
/// send, and close; ``Registry/whenWritable(_:_:)`` arms a one-shot handler for when a socket can take a message
/// again, and ``Registry/schedule(after:_:)`` a one-shot timer. A handler hands what it reads to Swift concurrency
/// through `Sendable` values (an `AsyncStream` continuation, a checked continuation, a `Mutex`).
///
/// **Wake-ups.** The queue is a locked array. The thread is woken (a byte on a pipe) only
/// when it sleeps in `zmq_poll`: work queued while it is busy is picked up before it sleeps again, all of it at once,
/// so a burst of closures costs one wake-up, not one each.
///
/// **Shutdown.** ``shutdown()`` runs every closure queued before it, closes every registered socket (with the linger
/// each was created with), stops the thread and returns once it has exited. Closures queued afterwards are dropped
/// and ``run(_:)`` throws ``ZMQError/Code/closed``. Timers still pending are dropped.
public final class ZMQReactor: Sendable {
    /// The sockets and handlers of one reactor; lives on, and is only touched from, the reactor's thread.
    public final class Registry {
        /// The reactor's context, for creating sockets.
        public let context: ZMQContext
        /// The reactor this registry belongs to (for ``ZMQReactor/executeInline(_:)``).
        fileprivate let owner: ObjectIdentifier
        fileprivate var entries: [Entry] = [] {
            didSet { pollSetChanged = true }
        }
        /// The poll set must be built again before the next `zmq_poll`.
        fileprivate var pollSetChanged = true
        fileprivate var nextID = 0
        fileprivate var stopping = false
        /// Pending one-shot timers, in no particular order (there are few).
        fileprivate var timers: [Timer] = []

        fileprivate struct Entry {
            var id: Int
            var socket: ZMQSocket
            var handler: ((ZMQSocket) -> Void)?
            var reading = true
            /// Called once, the next time the socket can take a message (`ZMQ_POLLOUT`).
            var onWritable: ((ZMQSocket) -> Void)?

            var events: Int16 {
                (reading && handler != nil ? Int16(ZMQ_POLLIN) : 0) | (onWritable != nil ? Int16(ZMQ_POLLOUT) : 0)
            }
        }

        fileprivate struct Timer {
            var deadline: ContinuousClock.Instant
            var action: (Registry) -> Void
        }

        fileprivate init(context: ZMQContext, owner: ObjectIdentifier) {
            self.context = context
            self.owner = owner
        }

        /// Adds `socket` to the poll set; `onReadable` is called on the reactor thread whenever it has a message
        /// (it should read until `receive(blocking: false)` returns `nil`). Returns the socket's id.
        @discardableResult
        public func register(_ socket: ZMQSocket, onReadable: ((ZMQSocket) -> Void)? = nil) -> SocketID {
            nextID += 1
            entries.append(Entry(id: nextID, socket: socket, handler: onReadable))
            return SocketID(value: nextID)
        }

        /// The registered socket with `id`, if it is still registered.
        public func socket(_ id: SocketID) -> ZMQSocket? {
            entries.first { $0.id == id.value }?.socket
        }

        /// Stops or resumes calling `id`'s handler (back-pressure: a full consumer stops reading, and libzmq's
        /// high-water marks then push back on the sender).
        public func setReading(_ id: SocketID, _ reading: Bool) {
            if let i = entries.firstIndex(where: { $0.id == id.value }), entries[i].reading != reading {
                entries[i].reading = reading
            }
        }

        /// Calls `handler` once, on the reactor thread, the next time `id` can take a message (`ZMQ_POLLOUT`: for a
        /// DEALER with `ZMQ_IMMEDIATE`, when a connection is up and has room). Replaces an earlier such handler.
        /// This is how a sender that was told "would block" learns when to try again, without polling on a timer.
        public func whenWritable(_ id: SocketID, _ handler: @escaping (ZMQSocket) -> Void) {
            if let i = entries.firstIndex(where: { $0.id == id.value }) { entries[i].onWritable = handler }
        }

        /// Calls `action` once, on the reactor thread, when `delay` has passed (to the poll's millisecond); dropped
        /// at shutdown. For retries and time-outs of work that lives on the reactor, without a task per timer.
        public func schedule(after delay: Duration, _ action: @escaping (Registry) -> Void) {
            timers.append(Timer(deadline: .now + delay, action: action))
        }

        /// Removes `id` from the poll set and closes it.
        public func close(_ id: SocketID) {
            guard let i = entries.firstIndex(where: { $0.id == id.value }) else { return }
            entries[i].socket.close()
            entries.remove(at: i)
        }

        /// Number of registered sockets.
        public var count: Int { entries.count }

        fileprivate func closeAll() {
            for entry in entries { entry.socket.close() }
            entries.removeAll()
            timers.removeAll()
        }

        /// Milliseconds `zmq_poll` may wait for the first timer (-1: no timer, wait for ever).
        fileprivate func pollTimeout(now: ContinuousClock.Instant) -> Int {
            guard let first = timers.map(\.deadline).min() else { return -1 }
            guard first > now else { return 0 }
            let (seconds, attoseconds) = (first - now).components
            // Round up: waking a little late is harmless, early would spin.
            return Int(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
        }

        /// Runs (and removes) the timers that are due.
        fileprivate func fireTimers(now: ContinuousClock.Instant) {
            guard timers.contains(where: { $0.deadline <= now }) else { return }
            let due = timers.filter { $0.deadline <= now }
            timers.removeAll { $0.deadline <= now }
            for timer in due { timer.action(self) }
        }
    }

    /// Names a socket registered with a reactor. A plain value.
    public struct SocketID: Hashable, Sendable {
        let value: Int
    }

    typealias Work = @Sendable (Registry) -> Void

    private struct Queue {
        var work: [Work] = []
        var closed = false
        var exited = false
        /// The thread is (about to be) asleep in `zmq_poll` and nobody has woken it yet: the next `execute` must.
        var sleeping = false
        var exitWaiters: [CheckedContinuation<Void, Never>] = []
    }

    /// The context the reactor's sockets are created in.
    public let context: ZMQContext
    /// The reactor's name (its thread's name).
    public let name: String
    private let queue = Mutex(Queue())
    /// The wake-up pipe: [read end, polled by the thread; write end, written by `execute` when the thread sleeps].
    private let wake: (read: Int32, write: Int32)

    /// Starts a reactor thread named `name`.
    public init(context: ZMQContext, name: String) throws(ZMQError) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw ZMQError.lastError("pipe", "reactor \(name)", errno: errno)
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        self.wake = (fds[0], fds[1])
        self.context = context
        self.name = name
        let thread = Thread { [self] in self.loop() }
        thread.name = name
        thread.start()
    }

    deinit {
        close(wake.read)
        close(wake.write)
    }

    /// Queues `work` to run on the reactor thread; dropped (and `false` returned) once the reactor is shut down.
    @discardableResult
    public func execute(_ work: @escaping @Sendable (Registry) -> Void) -> Bool {
        let (accepted, poke) = queue.withLock { q in
            guard !q.closed else { return (false, false) }
            q.work.append(work)
            defer { q.sleeping = false }
            return (true, q.sleeping)
        }
        if poke { self.poke() }
        return accepted
    }

    /// Runs `work` at once when called on this reactor's thread (from a socket handler, queued work, a timer, or a
    /// task while it runs there); anywhere else, queues it as ``execute(_:)`` does. Work queued earlier by other
    /// threads may then run after it: use it where only the caller's own order matters. Returns `false` when the
    /// work was dropped (the reactor is shut down).
    @discardableResult
    public func executeInline(_ work: @escaping @Sendable (Registry) -> Void) -> Bool {
        if let registry = currentRegistry() {
            work(registry)
            return true
        }
        return execute(work)
    }

    /// Whether the caller runs on this reactor's thread.
    public var isCurrent: Bool { currentRegistry() != nil }

    /// Runs `body` on the reactor thread and returns its result; throws ``ZMQError/Code/closed`` after shutdown.
    public func run<T: Sendable>(_ body: @escaping @Sendable (Registry) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let queued = execute { registry in
                continuation.resume(with: Result { try body(registry) })
            }
            if !queued {
                continuation.resume(
                    throwing: ZMQError(code: .closed, message: "the reactor \(name) is shut down")
                )
            }
        }
    }

    /// Runs what is queued, closes every registered socket, stops the thread's loop and waits for it to end (the
    /// thread itself returns right after, without touching a socket). Calling it again just waits.
    public func shutdown() async {
        let (first, poke) = queue.withLock { q in
            defer { q.closed = true }
            guard !q.closed else { return (false, false) }
            q.work.append { registry in registry.stopping = true }
            defer { q.sleeping = false }
            return (true, q.sleeping)
        }
        if first && poke { self.poke() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let exited = queue.withLock { q in
                if q.exited { return true }
                q.exitWaiters.append(continuation)
                return false
            }
            if exited { continuation.resume() }
        }
    }

    private func poke() {
        var byte: UInt8 = 1
        // A full pipe already guarantees a wake-up; nothing else can fail here.
        _ = write(wake.write, &byte, 1)
    }

    /// The registry of this reactor when the caller runs on its thread.
    private func currentRegistry() -> Registry? {
        guard let raw = pthread_getspecific(reactorThreadKey) else { return nil }
        let registry = Unmanaged<Registry>.fromOpaque(raw).takeUnretainedValue()
        return registry.owner == ObjectIdentifier(self) ? registry : nil
    }

    /// The thread's body.
    private func loop() {
        _ = coop_zmq_name_thread(String(name.utf8.prefix(15)) ?? "zmq-reactor")
        let registry = Registry(context: context, owner: ObjectIdentifier(self))
        pthread_setspecific(reactorThreadKey, Unmanaged.passUnretained(registry).toOpaque())
        defer { pthread_setspecific(reactorThreadKey, nil) }
        var items: [zmq_pollitem_t] = []
        var ids: [Int] = []
        var batch: [Work] = []
        while !registry.stopping {
            if registry.pollSetChanged {
                registry.pollSetChanged = false
                items.removeAll(keepingCapacity: true)
                ids.removeAll(keepingCapacity: true)
                items.append(zmq_pollitem_t(socket: nil, fd: wake.read, events: Int16(ZMQ_POLLIN), revents: 0))
                for entry in registry.entries where entry.events != 0 {
                    guard let handle = try? entry.socket.checkedHandle("zmq_poll") else { continue }
                    items.append(zmq_pollitem_t(socket: handle, fd: 0, events: entry.events, revents: 0))
                    ids.append(entry.id)
                }
            }
            for k in items.indices { items[k].revents = 0 }
            let timeout = registry.pollTimeout(now: .now)
            // Sleep only with nothing queued; from here on, `execute` wakes the thread.
            let idle =
                timeout != 0
                && queue.withLock { q in
                    q.sleeping = q.work.isEmpty
                    return q.sleeping
                }
            let ready = zmq_poll(&items, Int32(items.count), idle ? timeout : 0)
            if idle { queue.withLock { $0.sleeping = false } }
            if ready > 0 {
                if items[0].revents != 0 {
                    var drained: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
                    while read(wake.read, &drained, 32) > 0 {}
                }
                for (k, id) in ids.enumerated() where items[k + 1].revents != 0 {
                    let revents = items[k + 1].revents
                    // Look the entry up again each time: an earlier handler may have closed or removed it.
                    if revents & Int16(ZMQ_POLLIN) != 0, let entry = registry.entries.first(where: { $0.id == id }),
                        entry.reading, let handler = entry.handler
                    {
                        handler(entry.socket)
                    }
                    if revents & Int16(ZMQ_POLLOUT) != 0,
                        let i = registry.entries.firstIndex(where: { $0.id == id }),
                        let onWritable = registry.entries[i].onWritable
                    {
                        registry.entries[i].onWritable = nil
                        onWritable(registry.entries[i].socket)
                    }
                }
            }
            // ready < 0 is EINTR: poll again. ETERM cannot happen while the reactor's sockets keep the context alive.
            registry.fireTimers(now: .now)
            // Two buffers change places: neither the queue nor the batch allocates once both have grown.
            queue.withLock { q in swap(&q.work, &batch) }
            for item in batch { item(registry) }
            batch.removeAll(keepingCapacity: true)
        }
        registry.closeAll()
        // `shutdown` closed the queue before it queued the stop, so no work can follow the stop.
        let waiters = queue.withLock { q in
            q.exited = true
            defer { q.exitWaiters.removeAll() }
            return q.exitWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// Thread-specific: the ``ZMQReactor/Registry`` of the reactor whose thread this is (unset on every other thread).
/// Only ever read on the thread that set it, so the registry never crosses threads.
private let reactorThreadKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key, nil)
    return key
}()
