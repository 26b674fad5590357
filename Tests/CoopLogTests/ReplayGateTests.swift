import CoopSegments
import CoopTestKit
import Synchronization
import Testing

@testable import CoopLog

/// ``ReplayGate`` bounds how many whole-log replays run at once and how many wait; waiting ones can be cancelled or
/// run out of patience.
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

    /// Holds `gate`'s only turn until the returned function is called (it then awaits the holder's end).
    static func holdTurn(_ gate: ReplayGate) async -> @Sendable () async throws -> Void {
        let (release, releaseSignal) = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await gate.run {
                for await _ in release { break }
            }
        }
        while gate.load.running == 0 { await Task.yield() }
        return {
            releaseSignal.yield()
            try await holder.value
        }
    }

    @Test("with maxWaiting waiting, one more is refused at once (busy) and the others keep their turns")
    func full() async throws {
        let gate = ReplayGate(width: 1, maxWaiting: 2)
        let release = await Self.holdTurn(gate)
        let waiters = (0..<2).map { i in Task { try await gate.run { i } } }
        while gate.load.waiting < 2 { await Task.yield() }
        let ran = Mutex(false)
        let refused = await #expect(throws: LogError.self) { try await gate.run { ran.withLock { $0 = true } } }
        #expect(refused?.code == .busy)
        #expect(
            refused?.message.contains("the queue to replay the whole log is full (2 waiting") == true,
            "\(refused!)"
        )
        #expect(ran.withLock { $0 } == false)
        #expect(gate.load == (1, 2))
        try await release()
        #expect(try await waiters[0].value == 0)
        #expect(try await waiters[1].value == 1)
        #expect(gate.load == (0, 0))
    }

    @Test("a waiter whose patience runs out leaves the queue refused (busy), and takes no turn")
    func patience() async throws {
        let gate = ReplayGate(width: 1)
        let release = await Self.holdTurn(gate)
        let ran = Mutex(false)
        let refused = await #expect(throws: LogError.self) {
            try await gate.run(patience: .milliseconds(50)) { ran.withLock { $0 = true } }
        }
        #expect(refused?.code == .busy)
        #expect(refused?.message.contains("no turn to replay the whole log came within 0.05 s") == true, "\(refused!)")
        #expect(ran.withLock { $0 } == false)
        #expect(gate.load == (1, 0))
        try await release()
        // Patience is only for the wait: a turn that is free is taken at once, and the body may outlast it.
        let value = try await gate.run(patience: .milliseconds(1)) {
            try await Task.sleep(for: .milliseconds(20))
            return "ran"
        }
        #expect(value == "ran")
        #expect(gate.load == (0, 0))
    }

    /// Cancels (or lets expire) waiters at every point of their way in: before they are queued, while queued, and in
    /// between. Seeded; each round must end with the waiter refused, its body not run, and the gate as it was.
    @Test("waiters cancelled or expiring at random points never run, never stay queued", arguments: [7, 8, 9])
    func racingWaiters(seed: UInt64) async throws {
        var random = SeededRandom(seed: seed)
        let gate = ReplayGate(width: 1)
        let release = await Self.holdTurn(gate)
        let ran = Occupancy()
        for round in 0..<300 {
            let expire = random.next() % 2 == 0
            let task = Task {
                try await gate.run(patience: expire ? .zero : nil) { ran.enter() }
            }
            for _ in 0..<(random.next() % 4) { await Task.yield() }
            if !expire { task.cancel() }
            do {
                try await task.value
                Issue.record("round \(round): the body ran although the only turn was held")
            } catch let error as LogError {
                #expect(expire && error.code == .busy, "round \(round): \(error)")
            } catch {
                #expect(!expire && error is CancellationError, "round \(round): \(error)")
            }
            #expect(gate.load == (1, 0), "round \(round)")
        }
        #expect(ran.most == 0)
        try await release()
        #expect(try await gate.run { "free" } == "free")
    }

    @Test("a waiter cancelled, or out of patience, after it has its id and before it is queued does not wait")
    func betweenIDAndQueue() async throws {
        for expire in [false, true] {
            // The hook holds each waiter in the window until the test lets it go; the first run takes the turn.
            let (go, goSignal) = AsyncStream<Void>.makeStream()
            let arrived = Occupancy()
            let gate = ReplayGate(width: 1, maxWaiting: .max) {
                arrived.enter()
                for await _ in go { break }
            }
            let holder = Task { try await gate.run { try await Task.sleep(for: .seconds(3600)) } }
            while arrived.most < 1 { await Task.yield() }
            goSignal.yield()
            while gate.load.running == 0 { await Task.yield() }
            let ran = Occupancy()
            let waiter = Task { try await gate.run(patience: expire ? .milliseconds(1) : nil) { ran.enter() } }
            while arrived.most < 2 { await Task.yield() }
            if expire {
                // Its patience ends while it is in the window (the timer has nothing to take from the queue).
                let limit = ContinuousClock.now + .seconds(60)
                while gate.expiredBeforeQueued == 0 && ContinuousClock.now < limit {
                    try await Task.sleep(for: .milliseconds(1))
                }
                #expect(gate.expiredBeforeQueued == 1)
            } else {
                waiter.cancel()
            }
            goSignal.yield()
            do {
                try await waiter.value
                Issue.record("the waiter ran although the only turn was held")
            } catch let error as LogError {
                #expect(expire && error.code == .busy, "\(error)")
            } catch {
                #expect(!expire && error is CancellationError, "\(error)")
            }
            #expect(ran.most == 0)
            #expect(gate.load == (1, 0), "it never joined the queue")
            holder.cancel()
            await #expect(throws: CancellationError.self) { try await holder.value }
            #expect(gate.load == (0, 0))
        }
    }
}
