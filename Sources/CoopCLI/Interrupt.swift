import Dispatch

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ctrl-C (SIGINT) as the end of a long-running command, such as a watch: instead of killing the process, it
/// cancels the work, so that the work's own clean-up runs (a stream's cancel reaches the server) and the command
/// exits as it chooses.
enum Interrupt {
    /// Runs `body` until it returns or SIGINT arrives, whichever is first; returns whether SIGINT ended it. While
    /// `body` runs, SIGINT is caught by a Dispatch signal source (its default action is put back after).
    static func cancellingOnInterrupt(_ body: @escaping @Sendable () async throws -> Void) async throws -> Bool {
        let (interrupts, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { continuation.yield() }
        source.resume()
        defer {
            source.cancel()
            continuation.finish()
            signal(SIGINT, SIG_DFL)
        }
        return try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask {
                try await body()
                return false
            }
            group.addTask {
                for await _ in interrupts { return true }
                return false
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { return false }
            return first
        }
    }
}
