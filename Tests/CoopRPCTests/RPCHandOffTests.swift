import CoopRPC
import CoopZMQ
import Synchronization
import Testing

/// Fewer thread hand-offs per call: a reactor runs work handed to it from its own thread at once, is woken only when
/// it sleeps, and keeps its own timers. (The reactor lives in CoopZMQ; it is tested here, next to what it is for.)
@Suite("Hand-offs between the reactor and the calls")
struct RPCHandOffTests {
    @Test("executeInline runs at once on the reactor's thread; from anywhere else it queues, as execute does")
    func executeInline() async throws {
        let reactor = try ZMQReactor(context: try ZMQContext(), name: "ho-inline")
        let order = Mutex<[String]>([])
        #expect(!reactor.isCurrent)
        try await reactor.run { _ in
            order.withLock { $0.append("outer start") }
            reactor.execute { _ in order.withLock { $0.append("queued") } }
            reactor.executeInline { _ in order.withLock { $0.append("inline") } }
            order.withLock { $0.append("outer end") }
        }
        // Queued work runs in order: once this returns, "queued" has run.
        let onReactor = try await reactor.run { _ in reactor.isCurrent }
        #expect(onReactor)
        #expect(order.withLock { $0 } == ["outer start", "inline", "outer end", "queued"])

        let other = try ZMQReactor(context: reactor.context, name: "ho-other")
        // On another reactor's thread, this reactor's work is queued, not run there.
        let ranOn = Mutex<String?>(nil)
        _ = try await other.run { _ in
            reactor.executeInline { _ in ranOn.withLock { $0 = reactor.isCurrent ? "reactor" : "elsewhere" } }
        }
        _ = try await reactor.run { _ in 0 }
        #expect(ranOn.withLock { $0 } == "reactor")
        await other.shutdown()
        await reactor.shutdown()
        #expect(!reactor.executeInline { _ in }, "work after shutdown is dropped")
    }

    @Test("timers fire on the reactor's thread in the order of their deadlines, never early; shutdown drops the rest")
    func timers() async throws {
        let reactor = try ZMQReactor(context: try ZMQContext(), name: "ho-timers")
        let fired = Mutex<[(name: String, elapsed: Duration, onReactor: Bool)]>([])
        let start = ContinuousClock.now
        try await reactor.run { registry in
            for (name, delay) in [("b", 120), ("a", 40), ("never", 600_000)] {
                registry.schedule(after: .milliseconds(delay)) { _ in
                    fired.withLock { $0.append((name, ContinuousClock.now - start, reactor.isCurrent)) }
                }
            }
        }
        try await eventually("two timers") { fired.withLock { $0.count } == 2 }
        let seen = fired.withLock { $0 }
        #expect(seen.map(\.name) == ["a", "b"])
        #expect(seen.allSatisfy { $0.onReactor })
        #expect(seen[0].elapsed >= .milliseconds(40) && seen[1].elapsed >= .milliseconds(120), "\(seen)")
        // The ten-minute timer does not hold the reactor up.
        await reactor.shutdown()
        #expect(fired.withLock { $0.count } == 2)
    }

    @Test("work queued from many tasks at once, while the reactor sleeps or works, all runs, each sender's in order")
    func burst() async throws {
        let reactor = try ZMQReactor(context: try ZMQContext(), name: "ho-burst")
        let senders = 4
        let each = 5_000
        final class Tally: Sendable {
            let seen: Mutex<[Int]>
            let outOfOrder = Mutex(0)
            init(_ senders: Int) { seen = Mutex(Array(repeating: 0, count: senders)) }
        }
        let tally = Tally(senders)
        await withTaskGroup(of: Void.self) { group in
            for sender in 0..<senders {
                group.addTask {
                    for i in 0..<each {
                        reactor.execute { _ in
                            tally.seen.withLock { s in
                                if s[sender] != i { tally.outOfOrder.withLock { $0 += 1 } }
                                s[sender] = i + 1
                            }
                        }
                        // Now and then let the reactor catch up and fall asleep, so that both paths are taken.
                        if i % 1_000 == 999 { try? await Task.sleep(for: .milliseconds(2)) }
                    }
                }
            }
        }
        // Queued work runs in order: this runs after every closure above.
        _ = try await reactor.run { _ in 0 }
        #expect(tally.seen.withLock { $0 } == Array(repeating: each, count: senders))
        #expect(tally.outOfOrder.withLock { $0 } == 0)
        await reactor.shutdown()
    }
}
