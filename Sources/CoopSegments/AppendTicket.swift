import Synchronization

/// The outcome of records queued with ``SegmentedLog/enqueue(_:)``: await ``wait()`` for their positions once
/// they are durable.
///
/// **Threading.** `Sendable`; any number of tasks may wait on one ticket. Completed exactly once by the log's
/// writer.
public final class AppendTicket: Sendable {
    private enum State {
        case waiting([CheckedContinuation<[RecordPosition], any Error>])
        case done(Result<[RecordPosition], LogError>)
    }

    private let state = Mutex<State>(.waiting([]))

    init() {}

    func complete(_ result: Result<[RecordPosition], LogError>) {
        let waiters: [CheckedContinuation<[RecordPosition], any Error>] = state.withLock { state in
            guard case .waiting(let waiters) = state else { return [] }
            state = .done(result)
            return waiters
        }
        for waiter in waiters {
            waiter.resume(with: result.mapError { $0 as any Error })
        }
    }

    /// The outcome if the ticket is complete, without waiting.
    public var outcome: Result<[RecordPosition], LogError>? {
        state.withLock { state in
            guard case .done(let result) = state else { return nil }
            return result
        }
    }

    /// The records' positions once they are durable; throws the append's ``LogError`` if it failed. A completed
    /// ticket answers at once, without suspending the task (a batch of tickets settled by one group commit costs no
    /// executor hop each).
    public func wait() async throws -> [RecordPosition] {
        if let outcome { return try outcome.get() }
        return try await withCheckedThrowingContinuation { continuation in
            let result: Result<[RecordPosition], LogError>? = state.withLock { state in
                switch state {
                case .waiting(var waiters):
                    waiters.append(continuation)
                    state = .waiting(waiters)
                    return nil
                case .done(let result):
                    return result
                }
            }
            if let result { continuation.resume(with: result.mapError { $0 as any Error }) }
        }
    }
}
