import CoopRPC
import CoopZMQ
import Dispatch
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
    @Test("a task that prefers the reactor runs on its thread, and resumes there when another thread resumes it")
    func taskExecutor() async throws {
        let reactor = try ZMQReactor(context: try ZMQContext(), name: "ho-exec")
        let seen = try await Task(executorPreference: reactor) { () async throws -> [Bool] in
            var seen = [reactor.isCurrent]
            // Resumed from a Dispatch thread: the task comes back to the reactor's thread.
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().async { continuation.resume() }
            }
            seen.append(reactor.isCurrent)
            try await Task.sleep(for: .milliseconds(5))
            seen.append(reactor.isCurrent)
            // A child task inherits the preference.
            async let child = reactor.isCurrent
            seen.append(await child)
            return seen
        }.value
        #expect(seen == [true, true, true, true])
        #expect(!reactor.isCurrent)
        await reactor.shutdown()
        // After shutdown its jobs run elsewhere: such a task still runs to its end instead of never.
        let after = await Task(executorPreference: reactor) { () async -> Bool in
            await Task.yield()
            return reactor.isCurrent
        }.value
        #expect(!after)
    }

    @Test(
        "handlers run on the server's reactor with .direct and off it with .pool; both answer callers on either side",
        arguments: [RPCServer.HandlerExecution.direct, .pool]
    )
    func handlerExecution(_ execution: RPCServer.HandlerExecution) async throws {
        let context = try ZMQContext()
        let serverReactor = try ZMQReactor(context: context, name: "ho-srv")
        let clientReactor = try ZMQReactor(context: context, name: "ho-cli")
        let onReactor = Mutex<[Bool]>([])
        let server = RPCServer(
            reactor: serverReactor,
            endpoint: "tcp://127.0.0.1:0",
            methods: [
                "/t.T/Where": .unary { request in
                    onReactor.withLock { $0.append(serverReactor.isCurrent) }
                    // A suspension in the middle: the handler resumes where it prefers to run.
                    try await Task.sleep(for: .milliseconds(1))
                    onReactor.withLock { $0.append(serverReactor.isCurrent) }
                    return RPCResponse(body: request.body)
                }
            ],
            handlerExecution: execution
        )
        #expect(server.handlerExecution == execution)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let client = RPCClient(
                transport: RPCZMQClientTransport(reactor: clientReactor, endpoint: try await server.boundEndpoint())
            )
            try await client.connect()
            let timeout = RPCCallOptions(timeout: patient)
            let fromPool = try await client.unary("/t.T/Where", [1, 2], options: timeout)
            let fromReactor = try await withTaskExecutorPreference(client.transportExecutor) {
                let answer = try await client.unary("/t.T/Where", [3], options: timeout)
                #expect(clientReactor.isCurrent, "the caller resumed on the client's reactor")
                return answer
            }
            #expect(fromPool.body == [1, 2] && fromReactor.body == [3])
            await client.close()
            group.cancelAll()
        }
        #expect(onReactor.withLock { $0 } == Array(repeating: execution == .direct, count: 4))
        await clientReactor.shutdown()
        await serverReactor.shutdown()
    }
}
