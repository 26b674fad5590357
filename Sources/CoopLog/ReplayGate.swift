import CoopSegments
import Foundation
import Synchronization

/// At most ``width`` whole-log replays at once (``LedgerReplay/historyOffPool(directory:catalog:roster:itemID:gate:)``).
///
/// Thread-safe; one gate is meant to be shared by everything in a process that replays the log on request (``shared``).
/// A replay of the whole log holds a view of every entry (tens of megabytes at a million entries) and keeps one decoding
/// thread per core busy for about a second, so a burst of requests for item histories (the RPC `ItemHistory`, the web
/// item page) would otherwise hold as many views and threads as there are requests, and none would finish sooner.
/// Replays beyond the width wait their turn, first come first served, at most ``maxWaiting`` of them. A waiting task
/// that is cancelled (its call's deadline passed, its client went away) stops waiting at once with `CancellationError`
/// and takes no turn. A caller without a deadline (a web page) gives its patience instead; past it, or when
/// ``maxWaiting`` wait already, it gets ``LogError/Code/busy`` and takes no turn.
public final class ReplayGate: Sendable {
    /// The process's gate: as many replays at once as half the cores, at least one (each keeps every core busy), and
    /// at most 64 waiting (about a minute of replays of a million entries each).
    public static let shared = ReplayGate(
        width: max(1, ProcessInfo.processInfo.activeProcessorCount / 2),
        maxWaiting: 64
    )

    /// How many replays may run at once.
    public let width: Int
    /// How many may wait for a turn; one more is refused at once (``LogError/Code/busy``).
    public let maxWaiting: Int

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var running = 0
        var waiting: [Waiter] = []
        var nextID: UInt64 = 0
        /// Waiters given an id and not yet admitted or queued. The cancellation handler (or the patience's timer)
        /// removes a waiter's id from here when it runs before the waiter is queued, so that it does not wait.
        var pending: Set<UInt64> = []
        /// Waiters whose patience ran out before they were queued: they are refused when they come.
        var expired: Set<UInt64> = []
    }

    private let state = Mutex(State())

    /// Tests only: awaited by each waiter after it has its id and before it is queued (the window in which a cancel
    /// or the end of its patience finds it neither admitted nor queued).
    let beforeQueue: (@Sendable () async -> Void)?

    /// A gate for `width` replays at once (at least one) and at most `maxWaiting` waiting (at least zero).
    public convenience init(width: Int, maxWaiting: Int = .max) {
        self.init(width: width, maxWaiting: maxWaiting, beforeQueue: nil)
    }

    init(width: Int, maxWaiting: Int, beforeQueue: (@Sendable () async -> Void)?) {
        self.width = max(1, width)
        self.maxWaiting = max(0, maxWaiting)
        self.beforeQueue = beforeQueue
    }

    /// Runs `body` once a turn is free, and frees the turn when it returns or throws. Throws, without running `body`:
    /// `CancellationError` when the task is cancelled while it waits; ``LogError/Code/busy`` when ``maxWaiting``
    /// wait already, or when no turn came within `patience` (`nil`: as long as it takes).
    public func run<R>(patience: Duration? = nil, _ body: () async throws -> R) async throws -> R {
        try await enter(patience: patience)
        defer { leave() }
        // Cancelled just as its turn came: the turn goes to the next one at once.
        try Task.checkCancellation()
        return try await body()
    }

    /// Waiters whose patience ran out before they were queued, not yet refused (tests).
    var expiredBeforeQueued: Int { state.withLock { $0.expired.count } }

    /// Replays running and waiting now (for tests and metrics).
    public var load: (running: Int, waiting: Int) {
        state.withLock { ($0.running, $0.waiting.count) }
    }

    private func enter(patience: Duration?) async throws {
        try Task.checkCancellation()
        let id = state.withLock { s in
            s.nextID += 1
            s.pending.insert(s.nextID)
            return s.nextID
        }
        // Stopped once the waiter is admitted or gone; when it fires first, the waiter leaves the queue, refused.
        let timer = patience.map { patience in
            Task { [self] in
                try? await Task.sleep(for: patience)
                if !Task.isCancelled { expire(id, patience: patience) }
            }
        }
        defer { timer?.cancel() }
        try await withTaskCancellationHandler {
            await beforeQueue?()
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Admission { case now, wait, cancelled, full, expired }
                let admission: Admission = state.withLock { s in
                    guard s.pending.remove(id) != nil else {
                        return s.expired.remove(id) != nil ? .expired : .cancelled
                    }
                    if s.running < width && s.waiting.isEmpty {
                        s.running += 1
                        return .now
                    }
                    if s.waiting.count >= maxWaiting { return .full }
                    s.waiting.append(Waiter(id: id, continuation: continuation))
                    return .wait
                }
                switch admission {
                case .now: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .full:
                    continuation.resume(
                        throwing: LogError(
                            code: .busy,
                            message: "the queue to replay the whole log is full (\(maxWaiting) waiting, the most "
                                + "allowed; \(width) replaying at once); try again later"
                        )
                    )
                case .expired: continuation.resume(throwing: expiredError(patience))
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

    /// The patience of waiter `id` ran out: it leaves the queue refused (or is refused when it comes to queue).
    private func expire(_ id: UInt64, patience: Duration) {
        let waiter: Waiter? = state.withLock { s in
            if let index = s.waiting.firstIndex(where: { $0.id == id }) { return s.waiting.remove(at: index) }
            if s.pending.remove(id) != nil { s.expired.insert(id) }
            return nil
        }
        waiter?.continuation.resume(throwing: expiredError(patience))
    }

    private func expiredError(_ patience: Duration?) -> LogError {
        let (running, waiting) = load
        let seconds = patience.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 } ?? 0
        return LogError(
            code: .busy,
            message: "no turn to replay the whole log came within \(seconds) s (\(running) replaying, \(waiting) "
                + "waiting); try again later"
        )
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
