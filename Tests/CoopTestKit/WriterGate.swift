import Dispatch
import Synchronization

/// Holds a log's writer between group commits, so that a test decides which appends share one commit instead of
/// relying on timing. Install ``pass()`` as the log's `FaultInjection.beforeBatch` hook.
///
/// **Threading.** `Sendable`. `pass()` is called on the log's writer queue and blocks there while the gate is held;
/// `hold()`, `release()` and ``blockedWriters`` may be called from any thread.
public final class WriterGate: Sendable {
    private struct State {
        var held = false
        var blocked = 0
    }

    private let state = Mutex(State())
    private let semaphore = DispatchSemaphore(value: 0)

    public init() {}

    /// From now on the writer stops before it takes its next group commit.
    public func hold() {
        state.withLock { $0.held = true }
    }

    /// Lets a held writer go on, and stops holding it.
    public func release() {
        let blocked = state.withLock { state in
            state.held = false
            defer { state.blocked = 0 }
            return state.blocked
        }
        for _ in 0..<blocked { semaphore.signal() }
    }

    /// How many writers are waiting at the gate now.
    public var blockedWriters: Int {
        state.withLock { $0.blocked }
    }

    /// The hook: returns at once when the gate is open, else waits for ``release()``.
    public func pass() {
        let wait = state.withLock { state in
            guard state.held else { return false }
            state.blocked += 1
            return true
        }
        if wait { semaphore.wait() }
    }

    /// Waits (polling every millisecond, no time limit) until `condition` holds: for conditions that another thread
    /// makes true, such as a writer reaching the gate.
    public static func waitUntil(_ condition: () -> Bool) async throws {
        while !condition() {
            try await Task.sleep(for: .milliseconds(1))
        }
    }
}
