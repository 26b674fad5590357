import Synchronization

/// The outcome of records queued with ``SegmentedLog/enqueue(_:)``: await ``wait()`` for their positions once
/// they are durable.
///
/// **Threading.** `Sendable`; any number of tasks may wait on one ticket. Completed exactly once by the log's
/// writer.
public final class AppendTicket: Sendable {
    /// Called once with the outcome (a continuation resumed, or ``whenComplete(_:)``'s callback).
    private struct Waiter {
        let complete: @Sendable (Result<[RecordPosition], LogError>) -> Void
    }

    private enum State {
        case waiting([Waiter])
        case done(Result<[RecordPosition], LogError>)
    }

    private let state = Mutex<State>(.waiting([]))

    init() {}

    func complete(_ result: Result<[RecordPosition], LogError>) {
        let waiters: [Waiter] = state.withLock { state in
            guard case .waiting(let waiters) = state else { return [] }
            state = .done(result)
            return waiters
        }
        for waiter in waiters {
            waiter.complete(result)
        }
    }

    /// The outcome if the ticket is complete, without waiting.
    public var outcome: Result<[RecordPosition], LogError>? {
        state.withLock { state in
            guard case .done(let result) = state else { return nil }
            return result
        }
    }

    /// Calls `body` once with the outcome: at once on the caller's thread if the ticket is complete, else on the
    /// log's writer queue when it completes (so `body` must be short and must not wait for the log).
    ///
    /// For a caller that would otherwise suspend on ``wait()`` only to resume another task: the log store resumes
    /// each local append once, when it is durable, instead of once when it is queued and again when it is durable.
    public func whenComplete(_ body: @escaping @Sendable (Result<[RecordPosition], LogError>) -> Void) {
        let result: Result<[RecordPosition], LogError>? = state.withLock { state in
            switch state {
            case .waiting(var waiters):
                waiters.append(Waiter(complete: body))
                state = .waiting(waiters)
                return nil
            case .done(let result):
                return result
            }
        }
        if let result { body(result) }
    }

    /// The records' positions once they are durable; throws the append's ``LogError`` if it failed. A completed
    /// ticket answers at once, without suspending the task (a batch of tickets settled by one group commit costs no
    /// executor hop each).
    public func wait() async throws -> [RecordPosition] {
        if let outcome { return try outcome.get() }
        return try await withCheckedThrowingContinuation { continuation in
            whenComplete { continuation.resume(with: $0.mapError { $0 as any Error }) }
        }
    }
}
