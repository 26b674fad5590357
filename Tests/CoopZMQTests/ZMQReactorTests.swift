import CoopZMQ
import Foundation
import Synchronization
import Testing

/// The reactor: sockets live on its thread, work crosses through closures, and shutdown leaves no socket, thread or
/// context behind.
@Suite("ZMQ reactor")
struct ZMQReactorTests {
    /// Names of this process's threads (Linux: /proc/self/task/*/comm, at most 15 characters each).
    static func threadNames() -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap {
            (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// An echo server (ROUTER) on one reactor and a client (DEALER) on another, over `transport`.
    @Test("echo over two reactors: 200 requests from concurrent tasks all answered", arguments: ["inproc", "tcp"])
    func echo(_ transport: String) async throws {
        let context = try ZMQContext()
        let server = try ZMQReactor(context: context, name: "zr-srv-\(transport.prefix(3))")
        let client = try ZMQReactor(context: context, name: "zr-cli-\(transport.prefix(3))")
        let bindTo = transport == "tcp" ? "tcp://127.0.0.1:0" : "inproc://echo-\(UInt64.random(in: 0...UInt64.max))"
        let endpoint = try await server.run { registry in
            let router = try ZMQSocket(registry.context, type: .router)
            let endpoint = try router.bind(bindTo)
            registry.register(router) { socket in
                while let frames = try? socket.receive(blocking: false) {
                    _ = try? socket.send(frames)
                }
            }
            return endpoint
        }
        let waiting = Waiting()
        let dealerID = try await client.run { registry in
            let dealer = try ZMQSocket(registry.context, type: .dealer)
            try dealer.connect(endpoint)
            return registry.register(dealer) { socket in
                while let frames = try? socket.receive(blocking: false) {
                    waiting.resume(frames)
                }
            }
        }
        let answers = try await withThrowingTaskGroup(of: Bool.self) { group in
            for i in 0..<200 {
                group.addTask {
                    let request: [[UInt8]] = [
                        withUnsafeBytes(of: UInt32(i).littleEndian) { Array($0) }, [UInt8(i % 256)],
                    ]
                    let reply = await withCheckedContinuation { continuation in
                        waiting.add(key: request[0], continuation)
                        client.execute { registry in
                            _ = try? registry.socket(dealerID)?.send(request)
                        }
                    }
                    return reply == request
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(answers == 200)
        #expect(Self.threadNames().contains("zr-srv-\(transport.prefix(3))"))
        await client.shutdown()
        await server.shutdown()
        // shutdown() returns when the thread's loop has ended; the kernel lists the thread until it has returned
        // from its start routine a moment later, so look again after short pauses (a leak would stay for good).
        let names = ["zr-srv-\(transport.prefix(3))", "zr-cli-\(transport.prefix(3))"]
        for _ in 0..<6000 {
            if Set(Self.threadNames()).isDisjoint(with: names) { break }
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(Set(Self.threadNames()).isDisjoint(with: names), "\(Self.threadNames())")
        let late = await #expect(throws: ZMQError.self) { try await server.run { $0.count } }
        #expect(late?.code == .closed)
    }

    @Test("shutdown closes every socket, so the context terminates instead of waiting for ever")
    func contextTerminates() async throws {
        let done = Mutex(false)
        let finished = DispatchSemaphore(value: 0)
        Task.detached {
            do {
                let context = try ZMQContext()
                let reactor = try ZMQReactor(context: context, name: "zr-term")
                try await reactor.run { registry in
                    for _ in 0..<5 {
                        let socket = try ZMQSocket(registry.context, type: .router)
                        try socket.bind("tcp://127.0.0.1:0")
                        registry.register(socket) { _ in }
                    }
                }
                await reactor.shutdown()
            } catch {
                Issue.record("setting up the reactor failed: \(error)")
            }
            // The context and reactor went out of scope above: zmq_ctx_term has run (it waits for open sockets).
            done.withLock { $0 = true }
            finished.signal()
        }
        let result = await withCheckedContinuation { continuation in
            // Generous: only a hang should reach it, not a test run that keeps the machine's two cores busy.
            DispatchQueue.global().async { continuation.resume(returning: finished.wait(timeout: .now() + 1200)) }
        }
        #expect(result == .success, "the context did not terminate within 1200 s: a socket was left open")
        #expect(done.withLock { $0 })
    }
}

extension ZMQReactorTests {
    @Test("a one-shot writable handler fires once a DEALER with ZMQ_IMMEDIATE has a connection to send on")
    func writable() async throws {
        let context = try ZMQContext()
        let reactor = try ZMQReactor(context: context, name: "zr-writable")
        let (events, sink) = AsyncStream<String>.makeStream()
        // A free port nobody listens on yet (inproc would queue for an unbound name even with ZMQ_IMMEDIATE).
        let endpoint = try await reactor.run { registry in
            let probe = try ZMQSocket(registry.context, type: .router)
            defer { probe.close() }
            return try probe.bind("tcp://127.0.0.1:0")
        }
        let refused = try await reactor.run { registry -> Bool in
            let dealer = try ZMQSocket(registry.context, type: .dealer)
            try dealer.set(.immediate, 1)
            try dealer.connect(endpoint)
            let id = registry.register(dealer) { _ in }
            // Nobody is bound yet: with ZMQ_IMMEDIATE the message is refused, not queued.
            let sent = try dealer.send([[1]], blocking: false)
            registry.whenWritable(id) { socket in
                sink.yield("writable")
                _ = try? socket.send([[2]], blocking: false)
            }
            return !sent
        }
        #expect(refused)
        #expect(context.openSocketCount == 1)
        // The DEALER retries its connection in the background; a ROUTER now listens on the port.
        try await reactor.run { registry in
            let router = try ZMQSocket(registry.context, type: .router)
            try router.bind(endpoint)
            registry.register(router) { socket in
                while let frames = try? socket.receive(blocking: false) {
                    sink.yield("received \(frames.dropFirst().map { $0 })")
                }
            }
        }
        var seen: [String] = []
        for await event in events {
            seen.append(event)
            if seen.count == 2 { break }
        }
        // Fired once, and the message sent from the handler arrived (the refused one never existed).
        #expect(seen == ["writable", "received [[2]]"])
        await reactor.shutdown()
        #expect(context.openSocketCount == 0)
    }
}

/// Replies by request key, resumed from the reactor thread.
final class Waiting: Sendable {
    private let waiting = Mutex<[[UInt8]: CheckedContinuation<[[UInt8]], Never>]>([:])

    func add(key: [UInt8], _ continuation: CheckedContinuation<[[UInt8]], Never>) {
        waiting.withLock { $0[key] = continuation }
    }

    func resume(_ frames: [[UInt8]]) {
        guard let key = frames.first, let continuation = waiting.withLock({ $0.removeValue(forKey: key) }) else {
            return
        }
        continuation.resume(returning: frames)
    }
}
