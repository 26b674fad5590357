// coop-rpc-child server ENDPOINT [--no-heartbeat]
//
// A child process for CoopRPCTests' liveness tests: runs an RPCServer on a ROUTER bound at ENDPOINT (for example
// tcp://127.0.0.1:0, or a fixed port to come back on the same endpoint), prints "LISTENING <endpoint>" on one line
// once bound, and serves until it is killed (SIGKILL) or stopped (SIGSTOP). Methods:
//   /t.Child/Echo   unary: answers with the request
//   /t.Child/Hang   unary: never answers (waits for cancellation)
//   /t.Child/Count  server stream: 0, 1, 2, … one byte each, for ever
//
// coop-rpc-child stream-client ENDPOINT
//
// A client that vanishes mid-stream: connects to the server at ENDPOINT, starts the server stream /t.S/Count with
// credit 2 and no deadline, prints "STREAMING" once two messages have arrived, and then reads nothing more until it is
// killed. The server's stream is left waiting for credit.
//
// coop-rpc-child lifecycle CYCLES
//
// The clean-shutdown check, in a process of its own so that no other test's threads are counted: runs CYCLES rounds
// of (context, two reactors, a tcp server, two clients, unary and stream calls, close, shutdown) and prints, one per
// line: "threads-warm N" (after the first round), "threads-end N", "leaked-threads NAMES" (threads named after a
// reactor or libzmq's "ZMQbg" still alive, comma separated, "-" for none), "contexts-alive N" (contexts not yet
// deallocated, that is whose zmq_ctx_term has not returned), "open-sockets N".
//
// Exit status: 64 for bad arguments, 1 if the server cannot be started or a call fails.
import CoopRPC
import CoopZMQ
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes `text` to standard output at once (no buffer to lose to SIGKILL).
func say(_ text: String) {
    var bytes = Array((text + "\n").utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress! + done, $0.count - done) }
        if n > 0 {
            done += n
        } else if n < 0 && errno == EINTR {
            continue
        } else {
            exit(1)
        }
    }
    bytes.removeAll()
}

/// Exits when the test that started this process is gone, so that a dying test run never leaves a server behind.
func exitWithParent() {
    let parent = getppid()
    Thread.detachNewThread {
        while getppid() == parent { usleep(100_000) }
        exit(0)
    }
}

let childMethods: [String: RPCMethod] = [
    "/t.Child/Echo": .unary { request in RPCResponse(body: request.body) },
    "/t.Child/Hang": .unary { _ in
        try await Task.sleep(for: .seconds(86_400))
        return RPCResponse(body: [])
    },
    "/t.Child/Count": .serverStream { _, writer in
        var i = 0
        while true {
            try await writer.send([UInt8(i % 256)])
            i += 1
        }
    },
]

func serve(_ endpoint: String, heartbeat: ZMQHeartbeat) async throws {
    let context = try ZMQContext()
    let reactor = try ZMQReactor(context: context, name: "child-srv")
    let server = RPCServer(reactor: reactor, endpoint: endpoint, methods: childMethods, heartbeat: heartbeat)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        say("LISTENING \(try await server.boundEndpoint())")
        try await group.waitForAll()
    }
}

/// Names of this process's threads.
func streamClient(_ endpoint: String) async throws {
    let context = try ZMQContext()
    let reactor = try ZMQReactor(context: context, name: "child-cli")
    let client = RPCClient(reactor: reactor, endpoint: endpoint)
    try await client.connect()
    var iterator = try client.serverStream("/t.S/Count", [], credit: 2).makeAsyncIterator()
    for _ in 0..<2 { _ = try await iterator.next() }
    say("STREAMING")
    // Hold the call open, reading nothing, until killed.
    try await Task.sleep(for: .seconds(86_400))
    _ = try await iterator.next()
}

func threadNames() -> [String] {
    let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
    return tasks.compactMap {
        (try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A weak reference, to see a context deallocated.
final class WeakContext: Sendable {
    nonisolated(unsafe) weak var context: ZMQContext?
    init(_ context: ZMQContext) { self.context = context }
}

/// One round: everything created, used, closed and shut down; returns a weak reference to its context.
func round(_ n: Int) async throws -> WeakContext {
    let context = try ZMQContext()
    let weak = WeakContext(context)
    let serverReactor = try ZMQReactor(context: context, name: "life-srv-\(n)")
    let clientReactor = try ZMQReactor(context: context, name: "life-cli-\(n)")
    let server = RPCServer(reactor: serverReactor, endpoint: "tcp://127.0.0.1:0", methods: childMethods)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.run() }
        let endpoint = try await server.boundEndpoint()
        let clients = [
            RPCClient(reactor: clientReactor, endpoint: endpoint),
            RPCClient(reactor: clientReactor, endpoint: endpoint),
        ]
        for client in clients {
            try await client.connect()
            guard try await client.unary("/t.Child/Echo", [1, 2], timeout: .seconds(60)).body == [1, 2] else {
                throw RPCError(code: .internal, message: "echo answered wrongly")
            }
            var count = 0
            for try await _ in try client.serverStream("/t.Child/Count", [], timeout: .seconds(60), credit: 4) {
                count += 1
                if count == 10 { break }
            }
        }
        for client in clients { await client.close() }
        group.cancelAll()
        try await group.waitForAll()
    }
    await clientReactor.shutdown()
    await serverReactor.shutdown()
    if context.openSocketCount != 0 {
        say("open-sockets \(context.openSocketCount)")
    }
    return weak
}

func lifecycle(_ cycles: Int) async throws {
    var weakContexts: [WeakContext] = []
    weakContexts.append(try await round(0))
    let warm = threadNames().count
    for n in 1..<max(2, cycles) {
        weakContexts.append(try await round(n))
    }
    // libzmq's I/O and reaper threads end inside zmq_ctx_term, which each context's deinit calls; reactor threads
    // end in shutdown(). Give the last ones a moment to be reaped by the kernel's bookkeeping of /proc.
    var leaked: [String] = []
    for _ in 0..<200 {
        leaked = threadNames().filter { $0.hasPrefix("ZMQbg") || $0.hasPrefix("life-") }
        if leaked.isEmpty { break }
        try await Task.sleep(for: .milliseconds(50))
    }
    say("threads-warm \(warm)")
    say("threads-end \(threadNames().count)")
    say("leaked-threads \(leaked.isEmpty ? "-" : leaked.joined(separator: ","))")
    say("contexts-alive \(weakContexts.filter { $0.context != nil }.count)")
    say("open-sockets 0")
}

let arguments = CommandLine.arguments
guard arguments.count == 3 || (arguments.count == 4 && arguments[3] == "--no-heartbeat") else {
    FileHandle.standardError.write(
        Data(
            "usage: coop-rpc-child server ENDPOINT [--no-heartbeat] | stream-client ENDPOINT | lifecycle CYCLES\n".utf8
        )
    )
    exit(64)
}
exitWithParent()
do {
    switch arguments[1] {
    case "server":
        try await serve(arguments[2], heartbeat: arguments.count == 4 ? .off : .standard)
    case "stream-client":
        try await streamClient(arguments[2])
    case "lifecycle":
        try await lifecycle(Int(arguments[2]) ?? 5)
    default:
        FileHandle.standardError.write(Data("coop-rpc-child: unknown mode \(arguments[1])\n".utf8))
        exit(64)
    }
} catch {
    FileHandle.standardError.write(Data("coop-rpc-child: \(error)\n".utf8))
    exit(1)
}
