import CoopRPC
import CoopZMQ
import Foundation

/// CoopRPC measured through its public API: an ``RPCServer`` and an ``RPCClient`` over TCP on 127.0.0.1, each with its
/// own ZeroMQ context and reactor thread, as two processes would have, in this one process.
enum RPCBench {
    /// The unary call measured: a 261-byte request answered with a 256-byte response (fixed bytes; the handler does no
    /// work, so the figure is the RPC's own cost).
    static let requestBytes = 261
    static let responseBytes = 256
    static let unaryMethod = "/coop.bench.v1.Bench/Echo"
    static let streamMethod = "/coop.bench.v1.Bench/Flood"

    static let request: [UInt8] = (0..<requestBytes).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
    static let response: [UInt8] = (0..<responseBytes).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }

    /// The bench service: `Echo` answers ``response`` to anything; `Flood` sends the number of messages of the size
    /// its 12-byte request names (count, UInt64 little-endian; size, UInt32 little-endian), all the same bytes.
    static var methods: [String: RPCMethod] {
        let response = Self.response
        return [
            unaryMethod: .unary { _ in RPCResponse(body: response) },
            streamMethod: .serverStream { request, writer in
                guard let (count, size) = decodeFlood(request.body) else {
                    throw RPCError(code: .invalidArgument, message: "a Flood request is 12 bytes")
                }
                let body = [UInt8](repeating: 0xA5, count: size)
                for _ in 0..<count { try await writer.send(body) }
                return RPCMetadata()
            },
        ]
    }

    static func encodeFlood(count: Int, size: Int) -> [UInt8] {
        withUnsafeBytes(of: UInt64(count).littleEndian) { Array($0) }
            + withUnsafeBytes(of: UInt32(size).littleEndian) { Array($0) }
    }

    static func decodeFlood(_ bytes: [UInt8]) -> (count: Int, size: Int)? {
        guard bytes.count == 12 else { return nil }
        let count = bytes.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        let size = bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 8, as: UInt32.self) }
        return (Int(UInt64(littleEndian: count)), Int(UInt32(littleEndian: size)))
    }

    /// Starts a server (plain text, or CurveZMQ with a ZAP handler admitting one client key, as the daemon runs),
    /// connects a client, runs `body` with it, then closes the client, stops the server and shuts both reactors down.
    /// `direct`: the server runs its handlers on its reactor (``RPCServer/HandlerExecution/direct``); see ``unary``'s
    /// `direct` for the caller's side.
    static func withClient<T: Sendable>(
        curve: Bool,
        direct: Bool = false,
        _ body: (RPCClient) async throws -> T
    ) async throws -> T {
        let serverReactor = try ZMQReactor(context: try ZMQContext(), name: "bench-rpc-srv")
        let clientReactor = try ZMQReactor(context: try ZMQContext(), name: "bench-rpc-cli")
        var serverCurve: RPCServerCurve?
        var clientCurve: RPCClientCurve?
        if curve {
            let serverKeys = try ZMQCurve.keyPair()
            let clientKeys = try ZMQCurve.keyPair()
            try await ZAPHandler(admitted: [clientKeys.publicKey: "bench-client"]).install(on: serverReactor)
            serverCurve = RPCServerCurve(secretKey: serverKeys.secretKey)
            clientCurve = RPCClientCurve(
                serverPublicKey: serverKeys.publicKey,
                publicKey: clientKeys.publicKey,
                secretKey: clientKeys.secretKey
            )
        }
        let server = RPCServer(
            reactor: serverReactor,
            endpoint: "tcp://127.0.0.1:0",
            methods: methods,
            curve: serverCurve,
            handlerExecution: direct ? .direct : .pool
        )
        let result: Result<T, any Error> = await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // A bind failure also reaches `boundEndpoint()` below, which reports it.
                try? await server.run()
            }
            defer { group.cancelAll() }
            do {
                let endpoint = try await server.boundEndpoint()
                let client = RPCClient(reactor: clientReactor, endpoint: endpoint, curve: clientCurve)
                try await client.connect()
                let value: T
                do {
                    try await waitUntilAnswering(client)
                    value = try await body(client)
                } catch {
                    await client.close()
                    throw error
                }
                await client.close()
                return .success(value)
            } catch {
                return .failure(error)
            }
        }
        await clientReactor.shutdown()
        await serverReactor.shutdown()
        return try result.get()
    }

    /// Calls until one call succeeds (the connection and, with CurveZMQ, its handshake are made in the background).
    static func waitUntilAnswering(_ client: RPCClient) async throws {
        let deadline = now() + 10
        while true {
            do {
                _ = try await client.unary(unaryMethod, request, options: RPCCallOptions(timeout: .seconds(2)))
                return
            } catch {
                guard now() < deadline else { throw BenchError("the bench RPC server never answered: \(error)") }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }

    /// `calls` unary round trips, one at a time; each one's latency in seconds. `direct`: made in a task on the
    /// client's reactor (``RPCClient/transportExecutor``), so that sending and being resumed cost no thread hand-off.
    static func unary(
        _ client: RPCClient,
        calls: Int,
        timeout: Duration? = nil,
        direct: Bool = false
    ) async throws -> [Double] {
        if direct {
            return try await withTaskExecutorPreference(client.transportExecutor) {
                try await unary(client, calls: calls, timeout: timeout)
            }
        }
        let options = RPCCallOptions(timeout: timeout)
        var latencies: [Double] = []
        latencies.reserveCapacity(calls)
        for _ in 0..<calls {
            let start = now()
            let answer = try await client.unary(unaryMethod, request, options: options)
            latencies.append(now() - start)
            guard answer.body.count == responseBytes else {
                throw BenchError("the bench RPC answered \(answer.body.count) bytes, not \(responseBytes)")
            }
        }
        return latencies
    }

    /// One server-streaming call of `warmup + count` messages of `size` bytes; the clock runs from the last warm-up
    /// message received to the last message received.
    static func stream(
        _ client: RPCClient,
        size: Int,
        warmup: Int,
        count: Int,
        credit: UInt32,
        batch: UInt32 = RPCClient.streamBatch,
        packed: Bool = true,
        direct: Bool = false
    ) async throws -> StreamRun {
        if direct {
            return try await withTaskExecutorPreference(client.transportExecutor) {
                try await Self.stream(
                    client,
                    size: size,
                    warmup: warmup,
                    count: count,
                    credit: credit,
                    batch: batch,
                    packed: packed
                )
            }
        }
        let stream = try client.serverStream(
            streamMethod,
            encodeFlood(count: warmup + count, size: size),
            options: RPCCallOptions(credit: credit, batch: batch, packed: packed)
        )
        var received = 0
        var bytes = 0
        var start = now()
        var cpu0 = cpuTime()
        var end = start
        for try await message in stream {
            received += 1
            if received == warmup {
                start = now()
                cpu0 = cpuTime()
            } else if received > warmup {
                bytes += message.count
                if received == warmup + count { end = now() }
            }
        }
        guard received == warmup + count else {
            throw BenchError("the stream ended after \(received) of \(warmup + count) messages")
        }
        return StreamRun(messages: count, bytes: bytes, elapsed: end - start, cpu: cpuTime() - cpu0)
    }
}
