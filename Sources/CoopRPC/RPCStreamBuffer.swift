import Synchronization

/// The messages of one server stream on their way from the client's transport to the stream's consumer: what
/// `AsyncThrowingStream` did here, without its generic code (which looked up type metadata for every message, ~8% of
/// a 4 KiB stream's CPU time, docs/BENCHMARKS.md §7) and without a buffering policy: the buffer never holds more
/// than the credit the consumer granted, since the client takes no message past it (a server that sends one ends
/// the call, ``RPCClient``'s `received(_:)`).
///
/// **Threading.** `Sendable`. The transport's context produces (``yield(_:)``, ``finish(_:)``); one consumer takes
/// (``next()``). A consumer that stops early — its task is cancelled while it waits, or it drops the stream before
/// the end (the last ``Consumer`` goes) — is reported once through ``onConsumerGone``, which the client uses to
/// cancel the call.
final class RPCStreamBuffer: Sendable {
    private struct State {
        var queue: [[UInt8]] = []
        var head = 0
        /// How the stream ended (`nil`: OK), once it has.
        var end: RPCError??
        var waiter: CheckedContinuation<[UInt8]?, any Error>?
        var onConsumerGone: (@Sendable () -> Void)?
        /// The consumer stopped (or the stream ended): ``onConsumerGone`` is not to be called any more.
        var settled = false
    }

    private let state = Mutex(State())

    /// Held by the consumer's side (``RPCStream`` and its iterator): when the last copy goes, the consumer is gone.
    final class Consumer: Sendable {
        let buffer: RPCStreamBuffer
        init(_ buffer: RPCStreamBuffer) { self.buffer = buffer }
        deinit { buffer.consumerGone() }
    }

    /// Messages waiting for the consumer.
    var count: Int { state.withLock { $0.queue.count - $0.head } }

    /// Called once when the consumer stops before the stream ended.
    func onConsumerGone(_ action: @escaping @Sendable () -> Void) {
        state.withLock { $0.onConsumerGone = action }
    }

    /// A message for the consumer.
    func yield(_ message: [UInt8]) {
        let waiter: CheckedContinuation<[UInt8]?, any Error>? = state.withLock { s in
            guard s.end == nil, !s.settled else { return nil }
            if let waiter = s.waiter {
                s.waiter = nil
                return waiter
            }
            s.queue.append(message)
            return nil
        }
        waiter?.resume(returning: message)
    }

    /// Messages for the consumer, in order (a batch: one lock for all of them).
    func yield(contentsOf messages: some Collection<[UInt8]>) {
        guard let first = messages.first else { return }
        if messages.count == 1 { return yield(first) }
        let waiter: CheckedContinuation<[UInt8]?, any Error>? = state.withLock { s in
            guard s.end == nil, !s.settled else { return nil }
            if let waiter = s.waiter {
                s.waiter = nil
                s.queue.append(contentsOf: messages.dropFirst())
                return waiter
            }
            s.queue.append(contentsOf: messages)
            return nil
        }
        waiter?.resume(returning: first)
    }

    /// The stream ended: OK (`nil`) or with `error`. Messages already queued are still delivered first.
    func finish(_ error: RPCError?) {
        let waiter: CheckedContinuation<[UInt8]?, any Error>? = state.withLock { s in
            guard s.end == nil else { return nil }
            s.settled = true
            s.onConsumerGone = nil
            // A waiting consumer gets the end now (the queue is empty when it waits); the error is given once.
            s.end = .some(s.waiter == nil ? error : nil)
            defer { s.waiter = nil }
            return s.waiter
        }
        guard let waiter else { return }
        if let error { waiter.resume(throwing: error) } else { waiter.resume(returning: nil) }
    }

    /// The next message; `nil` at the end of an OK stream, or when the waiting task is cancelled (the call is then
    /// cancelled); throws the call's error.
    nonisolated(nonsending) func next() async throws -> [UInt8]? {
        if let ready = try takeReady() { return ready }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[UInt8]?, any Error>) in
                let outcome: Result<[UInt8]?, any Error>? = state.withLock { s in
                    if s.head < s.queue.count { return .success(Self.pop(&s)) }
                    if s.end != nil { return Self.takeEnd(&s).mapError { $0 } }
                    if s.settled || Task.isCancelled { return .success(nil) }
                    s.waiter = continuation
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            consumerGone()
        }
    }

    /// A message or the end, when one is there without waiting; `.none` when the consumer must wait.
    private func takeReady() throws -> [UInt8]?? {
        let outcome: Result<[UInt8]?, RPCError>? = state.withLock { s in
            if s.head < s.queue.count { return .success(Self.pop(&s)) }
            if s.end != nil { return Self.takeEnd(&s) }
            return nil
        }
        guard let outcome else { return .none }
        return .some(try outcome.get())
    }

    /// The end, once the queue is empty: the error the first time (afterwards `nil`, as an iterator that threw ends).
    private static func takeEnd(_ s: inout State) -> Result<[UInt8]?, RPCError> {
        guard case .some(.some(let error)) = s.end else { return .success(nil) }
        s.end = .some(nil)
        return .failure(error)
    }

    private static func pop(_ s: inout State) -> [UInt8] {
        let message = s.queue[s.head]
        s.queue[s.head] = []
        s.head += 1
        if s.head == s.queue.count {
            s.queue.removeAll(keepingCapacity: true)
            s.head = 0
        }
        return message
    }

    /// The consumer stopped before the end: a waiting `next()` returns `nil`, and the call is cancelled (once).
    private func consumerGone() {
        let (waiter, action): (CheckedContinuation<[UInt8]?, any Error>?, (@Sendable () -> Void)?) = state.withLock {
            s in
            guard !s.settled else { return (nil, nil) }
            s.settled = true
            // Over for the consumer: what the call's end brings later (its CANCELLED) is not delivered.
            s.end = .some(nil)
            s.queue.removeAll()
            s.head = 0
            defer {
                s.waiter = nil
                s.onConsumerGone = nil
            }
            return (s.waiter, s.onConsumerGone)
        }
        waiter?.resume(returning: nil)
        action?()
    }
}
