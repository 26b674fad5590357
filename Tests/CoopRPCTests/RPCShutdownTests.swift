import CoopRPC
import CoopZMQ
import Foundation
import Testing

/// Clean shutdown: once clients close, servers stop and reactors shut down, no socket, thread or context is left —
/// checked in this process by name and by reference, and in a child process of its own by counting every thread.
@Suite("RPC clean shutdown")
struct RPCShutdownTests {
    /// Names of this process's threads (Linux: /proc/self/task/*/comm).
    static func threadNames() -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap {
            (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    final class WeakContext: Sendable {
        nonisolated(unsafe) weak var context: ZMQContext?
        init(_ context: ZMQContext) { self.context = context }
    }

    /// Servers on tcp and inproc, two clients each, calls and streams, then everything closed; returns the context
    /// weakly and the reactors' names.
    static func useAndClose(tag: String) async throws -> (WeakContext, [String]) {
        let context = try ZMQContext()
        let names = ["sd-srv-\(tag)", "sd-cli-\(tag)"]
        let serverReactor = try ZMQReactor(context: context, name: names[0])
        let clientReactor = try ZMQReactor(context: context, name: names[1])
        let handlers: [String: RPCMethod] = [
            "/t.S/Echo": .unary { RPCResponse(body: $0.body) },
            "/t.S/Count": .serverStream { _, writer in
                for i in 0..<100 { try await writer.send([UInt8(i)]) }
                return RPCMetadata()
            },
        ]
        let servers = [
            RPCServer(reactor: serverReactor, endpoint: "tcp://127.0.0.1:0", methods: handlers),
            RPCServer(reactor: serverReactor, endpoint: "inproc://sd-\(tag)", methods: handlers),
        ]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for server in servers { group.addTask { try await server.run() } }
            var clients: [RPCClient] = []
            for server in servers {
                let endpoint = try await server.boundEndpoint()
                for _ in 0..<2 {
                    let client = RPCClient(reactor: clientReactor, endpoint: endpoint)
                    try await client.connect()
                    clients.append(client)
                }
            }
            // Sockets: 2 ROUTERs, 4 DEALERs, 2 monitors for the tcp clients.
            #expect(context.openSocketCount == 8)
            for client in clients {
                #expect(try await client.unary("/t.S/Echo", [1], timeout: patient).body == [1])
                var count = 0
                for try await _ in try client.serverStream("/t.S/Count", [], timeout: patient, credit: 8) {
                    count += 1
                    if count == 20 { break }
                }
            }
            for client in clients { await client.close() }
            #expect(context.openSocketCount == 2)
            group.cancelAll()
            try await group.waitForAll()
        }
        #expect(context.openSocketCount == 0)
        #expect(names.allSatisfy(threadNames().contains))
        await clientReactor.shutdown()
        await serverReactor.shutdown()
        #expect(!threadNames().contains { names.contains($0) })
        return (WeakContext(context), names)
    }

    @Test("after close, stop and shutdown: no socket open, the reactor threads gone, the context terminated")
    func inProcess() async throws {
        let (weak, _) = try await Self.useAndClose(tag: "\(UInt16.random(in: 0...UInt16.max))")
        // The context is released once nothing holds it: its deinit has returned from zmq_ctx_term, which waits for
        // every socket of the context to be closed.
        try await eventually("the context to be released") { weak.context == nil }
    }

    @Test("in a process of its own: rounds of servers and clients leave no thread, context or socket behind")
    func childProcess() async throws {
        let child = try RPCChildProcess(["lifecycle", "6"])
        var report: [String: String] = [:]
        for _ in 0..<5 {
            let line = try await child.lines.next(limit: patient, "the child's lifecycle report")
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            if parts.count == 2 { report[parts[0]] = parts[1] }
        }
        #expect(try await child.waitForExit() == 0)
        #expect(report["leaked-threads"] == "-", "\(report)")
        #expect(report["contexts-alive"] == "0", "\(report)")
        #expect(report["open-sockets"] == "0", "\(report)")
        let warm = try #require(report["threads-warm"].flatMap { Int($0) })
        let end = try #require(report["threads-end"].flatMap { Int($0) })
        // Five more rounds after the first: each made 2 reactor threads and 2 libzmq threads; none may remain.
        // (Dispatch may keep or retire a worker thread meanwhile: a margin of 2.)
        #expect(end <= warm + 2, "\(report)")
    }
}
