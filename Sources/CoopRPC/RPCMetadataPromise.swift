import Synchronization

/// Metadata that arrives later (a stream's response metadata): resolved once, awaited by any number of tasks.
///
/// **Threading.** `Sendable`; resolved from the client's transport context, awaited from any task. A waiter whose
/// task is cancelled stops waiting with CANCELLED.
final class RPCMetadataPromise: Sendable {
    private struct State {
        var result: Result<RPCMetadata, RPCError>?
        var waiters: [UInt64: CheckedContinuation<Result<RPCMetadata, RPCError>, Never>] = [:]
        var nextWaiter: UInt64 = 0
    }

    private let state = Mutex(State())

    /// Resolves the promise (later resolutions are ignored).
    func resolve(_ result: Result<RPCMetadata, RPCError>) {
        let waiters = state.withLock { s -> [CheckedContinuation<Result<RPCMetadata, RPCError>, Never>] in
            guard s.result == nil else { return [] }
            s.result = result
            defer { s.waiters.removeAll() }
            return Array(s.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: result) }
    }

    var isResolved: Bool { state.withLock { $0.result != nil } }

    /// The metadata, once resolved.
    func value() async throws(RPCError) -> RPCMetadata {
        let id = state.withLock { s in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Result<RPCMetadata, RPCError>, Never>) in
                let ready: Result<RPCMetadata, RPCError>? = state.withLock { s in
                    if let result = s.result { return result }
                    if Task.isCancelled {
                        return .failure(RPCError(code: .cancelled, message: "stopped waiting for response metadata"))
                    }
                    s.waiters[id] = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(
                returning: .failure(RPCError(code: .cancelled, message: "stopped waiting for response metadata"))
            )
        }
        return try result.get()
    }
}
