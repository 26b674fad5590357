import CoopLog
import Synchronization
import Testing

/// ``ReplayGate`` bounds how many whole-log replays run at once; waiting ones can be cancelled.
@Suite("Replay gate")
struct ReplayGateTests {
    /// Counts bodies running at once and the most seen.
    final class Occupancy: Sendable {
        private let counts = Mutex((now: 0, most: 0, done: 0))

        func enter() {
            counts.withLock {
                $0.now += 1
                $0.most = max($0.most, $0.now)
            }
        }
        func leave() {
            counts.withLock {
                $0.now -= 1
                $0.done += 1
            }
        }
        var most: Int { counts.withLock { $0.most } }
        var done: Int { counts.withLock { $0.done } }
    }

    @Test("no more bodies run at once than the width, and every one runs", arguments: [1, 2])
    func width(width: Int) async throws {
        let gate = ReplayGate(width: width)
        let occupancy = Occupancy()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    try await gate.run {
                        occupancy.enter()
                        // Stay until `width` bodies were inside at once (however slowly tasks are scheduled), and a
                        // little longer, so that one admitted beyond the width would be seen.
                        let limit = ContinuousClock.now + .seconds(60)
                        while occupancy.most < width && ContinuousClock.now < limit {
                            try await Task.sleep(for: .milliseconds(1))
                        }
                        try await Task.sleep(for: .milliseconds(20))
                        occupancy.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(occupancy.done == 6)
        #expect(occupancy.most == width)
        #expect(gate.load == (0, 0))
    }

    @Test("a waiting task that is cancelled throws at once, takes no turn and leaves the gate as it was")
    func cancelWhileWaiting() async throws {
        let gate = ReplayGate(width: 1)
        let (release, releaseSignal) = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await gate.run {
                for await _ in release { break }
            }
        }
        while gate.load.running == 0 { await Task.yield() }
        let waiter = Task { try await gate.run { "ran" } }
        while gate.load.waiting == 0 { await Task.yield() }
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        #expect(gate.load == (1, 0))
        releaseSignal.yield()
        try await holder.value
        #expect(gate.load == (0, 0))
        // The turn the cancelled task never took is free: the next one runs at once.
        #expect(try await gate.run { "next" } == "next")
    }

    @Test("a task cancelled before it asks does not run its body")
    func cancelledBefore() async throws {
        let gate = ReplayGate(width: 1)
        let ran = Mutex(false)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await gate.run { ran.withLock { $0 = true } }
        }
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ran.withLock { $0 } == false)
        #expect(gate.load == (0, 0))
    }

    @Test("the turn is given back when the body throws")
    func throwingBody() async throws {
        struct Failure: Error {}
        let gate = ReplayGate(width: 1)
        await #expect(throws: Failure.self) { try await gate.run { throw Failure() } }
        #expect(gate.load == (0, 0))
        #expect(try await gate.run { 7 } == 7)
    }
}
