import Foundation
import Synchronization

/// At most ``width`` whole-log replays at once (``LedgerReplay/historyOffPool(directory:catalog:roster:itemID:gate:)``).
///
/// Thread-safe; one gate is meant to be shared by everything in a process that replays the log on request (``shared``).
/// A replay of the whole log holds a view of every entry (tens of megabytes at a million entries) and keeps one decoding
/// thread per core busy for about a second, so a burst of requests for item histories (the RPC `ItemHistory`, the web
/// item page) would otherwise hold as many views and threads as there are requests, and none would finish sooner.
/// Replays beyond the width wait their turn, first come first served. A waiting task that is cancelled (its call's
/// deadline passed, its client went away) stops waiting at once with `CancellationError` and takes no turn.
public final class ReplayGate: Sendable {
    /// The process's gate: as many replays at once as half the cores, at least one (each keeps every core busy).
    public static let shared = ReplayGate(width: max(1, ProcessInfo.processInfo.activeProcessorCount / 2))

    /// How many replays may run at once.
    public let width: Int

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var running = 0
        var waiting: [Waiter] = []
        var nextID: UInt64 = 0
        /// Waiters given an id and not yet admitted or queued. The cancellation handler removes a waiter's id from
        /// here when it runs before the waiter is queued, so that it does not wait.
        var pending: Set<UInt64> = []
    }

    private let state = Mutex(State())

    /// A gate for `width` replays at once (at least one).
    public init(width: Int) {
        self.width = max(1, width)
    }

    /// Runs `body` once a turn is free, and frees the turn when it returns or throws. Throws `CancellationError`,
    /// without running `body`, when the task is cancelled while it waits.
    public func run<R>(_ body: () async throws -> R) async throws -> R {
        try await enter()
        defer { leave() }
        // Cancelled just as its turn came: the turn goes to the next one at once.
        try Task.checkCancellation()
        return try await body()
    }

    /// Replays running and waiting now (for tests and metrics).
    public var load: (running: Int, waiting: Int) {
        state.withLock { ($0.running, $0.waiting.count) }
    }

    private func enter() async throws {
        try Task.checkCancellation()
        let id = state.withLock { s in
            s.nextID += 1
            s.pending.insert(s.nextID)
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Admission { case now, wait, cancelled }
                let admission: Admission = state.withLock { s in
                    guard s.pending.remove(id) != nil else { return .cancelled }
                    if s.running < width && s.waiting.isEmpty {
                        s.running += 1
                        return .now
                    }
                    s.waiting.append(Waiter(id: id, continuation: continuation))
                    return .wait
                }
                switch admission {
                case .now: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .wait: break
                }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLock { s in
                if let index = s.waiting.firstIndex(where: { $0.id == id }) { return s.waiting.remove(at: index) }
                // Not queued yet: it must not wait when it comes (admitted already: nothing to do).
                s.pending.remove(id)
                return nil
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    private func leave() {
        let next: Waiter? = state.withLock { s in
            guard !s.waiting.isEmpty else {
                s.running -= 1
                return nil
            }
            // The turn passes to the first waiter: `running` stays.
            return s.waiting.removeFirst()
        }
        next?.continuation.resume()
    }
}
