/// When a client tries a call again: only calls marked ``RPCCallOptions/isIdempotent``, only after UNAVAILABLE (the
/// request could not be sent, or the connection was lost before the answer, or the server said so), at most
/// ``maxAttempts`` times in all, with exponential backoff and jitter between attempts, and never past the call's
/// deadline (each attempt sends the budget left). A call that is not idempotent is never retried: UNAVAILABLE may
/// come after the server ran it.
///
/// A plain value; thread-safe.
public struct RPCRetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included; 1 turns retries off.
    public var maxAttempts: Int
    /// Pause before the second attempt.
    public var initialBackoff: Duration
    /// Longest pause between attempts.
    public var maxBackoff: Duration
    /// Each pause is this many times the one before (up to ``maxBackoff``).
    public var multiplier: Double

    public init(
        maxAttempts: Int = 4,
        initialBackoff: Duration = .milliseconds(50),
        maxBackoff: Duration = .seconds(2),
        multiplier: Double = 2
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.multiplier = max(1, multiplier)
    }

    /// Four attempts, 50 ms, 100 ms and 200 ms apart (each pause drawn between half and all of it).
    public static let standard = RPCRetryPolicy()

    /// One attempt: no retries.
    public static let none = RPCRetryPolicy(maxAttempts: 1)

    /// The pause after attempt `attempt` (1 for the first), before jitter.
    public func backoff(after attempt: Int) -> Duration {
        var pause = initialBackoff
        for _ in 1..<max(1, attempt) {
            pause = pause * multiplier
            if pause >= maxBackoff { return maxBackoff }
        }
        return min(pause, maxBackoff)
    }

    /// The pause after attempt `attempt`, with jitter: between half and all of ``backoff(after:)``.
    func jitteredBackoff(after attempt: Int) -> Duration {
        backoff(after: attempt) * Double.random(in: 0.5...1)
    }
}
