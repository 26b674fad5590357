import Synchronization

/// Delivers events to one handler one at a time and in order, on whichever thread posts while nobody is delivering
/// (no thread of its own, no task): what the in-memory transports use instead of a reactor thread.
///
/// **Threading.** `Sendable`. ``post(_:)`` may be called from any thread, also from inside the handler (the event is
/// then delivered after the current one, by the same loop). The handler is never called with the lock held, so it may
/// post to other mailboxes, which may post back.
final class RPCMailbox<Event: Sendable>: Sendable {
    private struct State {
        var queue: [Event] = []
        var head = 0
        var delivering = false
        var handler: (@Sendable (Event) -> Void)?
        var closed = false
    }

    private let state = Mutex(State())

    /// Sets the handler; events posted before it are delivered now.
    func open(_ handler: @escaping @Sendable (Event) -> Void) {
        state.withLock { $0.handler = handler }
        drain()
    }

    /// Queues `event` and delivers what is queued unless another thread is delivering. Dropped once closed.
    func post(_ event: Event) {
        enqueue(event)
        drain()
    }

    /// Queues `event` without delivering it (a caller that holds a lock of its own queues under it, to keep the
    /// order of its state changes, then calls ``drain()`` once it has let go). Dropped once closed.
    func enqueue(_ event: Event) {
        state.withLock { s in
            guard !s.closed else { return }
            s.queue.append(event)
        }
    }

    /// Drops what is queued and everything posted later, and the handler (which may hold its owner).
    func close() {
        state.withLock { s in
            s.closed = true
            s.handler = nil
            s.queue.removeAll()
            s.head = 0
        }
    }

    /// Delivers what is queued, unless another thread is delivering (that one then delivers it).
    func drain() {
        while true {
            let next: (Event, @Sendable (Event) -> Void)? = state.withLock { s in
                guard !s.delivering, let handler = s.handler, s.head < s.queue.count else { return nil }
                s.delivering = true
                let event = s.queue[s.head]
                s.head += 1
                if s.head == s.queue.count {
                    s.queue.removeAll(keepingCapacity: true)
                    s.head = 0
                }
                return (event, handler)
            }
            guard let (event, handler) = next else { return }
            handler(event)
            // Hand delivery back: if more was queued meanwhile, this loop delivers it.
            let more = state.withLock { s in
                s.delivering = false
                return s.head < s.queue.count && s.handler != nil
            }
            if !more { return }
        }
    }
}
