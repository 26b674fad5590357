import CoopZMQ
import Foundation
import Synchronization

/// The raw libzmq baselines of section 7, through the `CoopZMQ` wrapper and without a reactor: blocking sockets in a
/// plain loop. What CoopRPC adds on top of ZeroMQ is measured against these.
///
/// **Threading.** Each function creates its sockets on the thread that calls it and closes them before it returns;
/// call it on a dedicated thread (``onThread(_:_:)``), never on the cooperative pool, since it blocks.
enum RawZMQBench {
    /// The two contexts of a run: one for the server's sockets and one for the client's, as two processes would have
    /// (each with its own libzmq I/O thread).
    struct Contexts: Sendable {
        var server: ZMQContext
        var client: ZMQContext

        init() throws {
            server = try ZMQContext()
            client = try ZMQContext()
        }
    }

    /// CurveZMQ key pairs for a raw connection (no ZAP handler: the raw server admits any client key).
    struct CurveKeys: Sendable {
        var server: (publicKey: [UInt8], secretKey: [UInt8])
        var client: (publicKey: [UInt8], secretKey: [UInt8])

        static func make() throws -> CurveKeys {
            CurveKeys(server: try ZMQCurve.keyPair(), client: try ZMQCurve.keyPair())
        }
    }

    /// Gives up on a receive after this long, so that a lost message fails the run instead of hanging it.
    static let receiveTimeoutMs: Int32 = 10_000

    /// Unary round trips on one thread: a DEALER (client context) sends `request` (one multipart message), a ROUTER
    /// (server context) receives it and answers `response` to the sender's routing id, the DEALER receives the answer.
    /// `warmup` untimed round trips first, then `calls` timed ones; returns each one's latency in seconds.
    static func unary(
        _ contexts: Contexts,
        curve: CurveKeys?,
        request: [[UInt8]],
        response: [[UInt8]],
        warmup: Int,
        calls: Int
    ) throws -> [Double] {
        let router = try ZMQSocket(contexts.server, type: .router)
        let dealer = try ZMQSocket(contexts.client, type: .dealer)
        defer {
            dealer.close()
            router.close()
        }
        if let curve {
            try router.set(.curveServer, 1)
            try router.set(.curveSecretKey, curve.server.secretKey)
            try dealer.set(.curveServerKey, curve.server.publicKey)
            try dealer.set(.curvePublicKey, curve.client.publicKey)
            try dealer.set(.curveSecretKey, curve.client.secretKey)
        }
        try router.set(.receiveTimeout, receiveTimeoutMs)
        try dealer.set(.receiveTimeout, receiveTimeoutMs)
        let endpoint = try router.bind("tcp://127.0.0.1:0")
        try dealer.connect(endpoint)

        var latencies: [Double] = []
        latencies.reserveCapacity(calls)
        for i in 0..<(warmup + calls) {
            let start = now()
            try dealer.send(request)
            guard let inbound = try router.receive(), inbound.count == request.count + 1 else {
                throw BenchError("raw ROUTER: a request did not arrive whole")
            }
            try router.send([inbound[0]] + response)
            guard let answer = try dealer.receive(), answer.count == response.count else {
                throw BenchError("raw DEALER: an answer did not arrive whole")
            }
            if i >= warmup { latencies.append(now() - start) }
        }
        return latencies
    }

    /// One-way throughput: a PUSH socket (server context, on its own thread) sends `warmup + count` messages of
    /// `size` bytes as fast as libzmq takes them; a PULL socket (client context, on the calling thread) receives them.
    /// The clock runs from the last warm-up message received to the last message received.
    static func pushPull(_ contexts: Contexts, size: Int, warmup: Int, count: Int) throws -> StreamRun {
        let pull = try ZMQSocket(contexts.client, type: .pull)
        defer { pull.close() }
        try pull.set(.receiveTimeout, receiveTimeoutMs)
        let endpoint = try pull.bind("tcp://127.0.0.1:0")
        let body = [UInt8](repeating: 0xA5, count: size)
        let failure = Mutex<String?>(nil)
        let finished = DispatchSemaphore(value: 0)
        let server = contexts.server
        let total = warmup + count
        let sender = Thread {
            defer { finished.signal() }
            do {
                // Linger for ever: every queued message is delivered even if the loop ends first.
                let push = try ZMQSocket(server, type: .push, lingerMs: -1)
                defer { push.close() }
                try push.connect(endpoint)
                for _ in 0..<total { try push.send([body]) }
            } catch {
                failure.withLock { $0 = "raw PUSH: \(error)" }
            }
        }
        sender.name = "bench-push"
        sender.start()
        defer { finished.wait() }

        var start = now()
        var cpu0 = cpuTime()
        var bytes = 0
        for i in 0..<total {
            guard let frames = try pull.receive(), frames.count == 1 else {
                throw BenchError(failure.withLock { $0 } ?? "raw PULL: a message did not arrive whole")
            }
            if i == warmup - 1 {
                start = now()
                cpu0 = cpuTime()
            }
            if i >= warmup { bytes += frames[0].count }
        }
        let elapsed = now() - start
        return StreamRun(messages: count, bytes: bytes, elapsed: elapsed, cpu: cpuTime() - cpu0)
    }
}

/// A one-way stream measured: messages and payload bytes received in `elapsed` seconds.
struct StreamRun: Sendable {
    var messages: Int
    var bytes: Int
    var elapsed: Double
    /// Process CPU time during the run (both ends are in this process), in seconds.
    var cpu: Double

    var rate: Double { Double(messages) / elapsed }
    /// Payload megabytes (10^6 bytes) per second.
    var megabytesPerSecond: Double { Double(bytes) / elapsed / 1e6 }
}

/// Runs `body` on a new thread (for blocking socket loops, which must not block the cooperative pool) and returns
/// its result.
func onThread<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.name = name
        thread.start()
    }
}
