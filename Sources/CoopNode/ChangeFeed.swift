public import CoopWire
import Synchronization

/// Tells watchers (`WatchChanges` calls) which items changed. Each watcher keeps at most the newest change per item
/// until it takes them, so a slow watcher costs at most one state per catalog item and never holds up writers: it
/// may skip intermediate states of an item, never its latest.
///
/// **Threading.** `Sendable`; ``publish(_:)`` from any thread, each ``Subscription`` read by one task.
public final class ChangeFeed: Sendable {
    private struct State {
        var subscribers: [UInt64: Subscription] = [:]
        var next: UInt64 = 0
        var closed = false
    }

    private let state = Mutex(State())

    public init() {}

    /// One watcher's view of the feed.
    public final class Subscription: Sendable {
        let filter: Set<String>
        private let pending = Mutex<(order: [String], latest: [String: ItemChange])>(([], [:]))
        private let signal: AsyncStream<Void>
        private let wake: AsyncStream<Void>.Continuation

        init(filter: Set<String>) {
            self.filter = filter
            (signal, wake) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        }

        func offer(_ change: ItemChange) {
            let itemID = change.state?.itemId ?? ""
            guard filter.isEmpty || filter.contains(itemID) else { return }
            pending.withLock { p in
                if p.latest.updateValue(change, forKey: itemID) == nil { p.order.append(itemID) }
            }
            wake.yield()
        }

        func close() { wake.finish() }

        /// Yields once whenever changes wait (several offers may coalesce into one wake-up); finishes when the
        /// feed closes. Iterate it once, from the task that reads the subscription.
        public var wakeUps: AsyncStream<Void> { signal }

        /// The changes waiting, oldest item first, and takes them.
        public func take() -> [ItemChange] {
            pending.withLock { p in
                defer {
                    p.order.removeAll()
                    p.latest.removeAll()
                }
                return p.order.compactMap { p.latest[$0] }
            }
        }
    }

    /// A new subscription to the items in `filter` (every item when empty), and a token to end it.
    public func subscribe(_ filter: Set<String>) -> (Subscription, UInt64) {
        let subscription = Subscription(filter: filter)
        let id: UInt64 = state.withLock { s in
            s.next += 1
            if s.closed { subscription.close() } else { s.subscribers[s.next] = subscription }
            return s.next
        }
        return (subscription, id)
    }

    public func unsubscribe(_ id: UInt64) {
        state.withLock { $0.subscribers.removeValue(forKey: id) }?.close()
    }

    public func publish(_ change: ItemChange) {
        let subscribers = state.withLock { Array($0.subscribers.values) }
        for subscriber in subscribers { subscriber.offer(change) }
    }

    /// Ends every subscription (the node is draining); later subscriptions end at once.
    public func close() {
        let subscribers = state.withLock { s in
            s.closed = true
            defer { s.subscribers.removeAll() }
            return Array(s.subscribers.values)
        }
        for subscriber in subscribers { subscriber.close() }
    }
}
