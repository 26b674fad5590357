import CoopRPC
import CoopZMQ
import Synchronization
import Testing

/// Unary calls between a real RPCServer and RPCClient over ZeroMQ (inproc, and tcp on 127.0.0.1 port 0): routing,
/// statuses, deadlines, cancellation, limits and bad input answered while the server goes on serving.
@Suite("RPC server and client over ZeroMQ")
struct RPCServerTests {
    /// A running server with `handlers` and a connected client; `body` runs, then both stop.
    static func withServer(
        transport: String = "tcp",
        handlers: [String: RPCUnaryHandler],
        streams: [String: RPCServerStreamHandler] = [:],
        limits: RPCCallTable.Limits = RPCCallTable.Limits(),
        maxMessageBytes: Int = 4 << 20,
        _ body: (RPCClient, String, ZMQReactor) async throws -> Void
    ) async throws {
        let context = try ZMQContext()
        let serverReactor = try ZMQReactor(context: context, name: "rpc-srv")
        let clientReactor = try ZMQReactor(context: context, name: "rpc-cli")
        let endpoint =
            transport == "tcp" ? "tcp://127.0.0.1:0" : "inproc://rpc-\(UInt64.random(in: 0...UInt64.max))"
        let server = RPCServer(
            reactor: serverReactor,
            endpoint: endpoint,
            methods: handlers.mapValues { .unary($0) }.merging(streams.mapValues { .serverStream($0) }) { a, _ in a },
            limits: limits,
            maxMessageBytes: maxMessageBytes
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let bound = try await server.boundEndpoint()
            let client = RPCClient(reactor: clientReactor, endpoint: bound)
            try await client.connect()
            try await body(client, bound, clientReactor)
            await client.close()
            group.cancelAll()
            try await group.waitForAll()
        }
        await clientReactor.shutdown()
        await serverReactor.shutdown()
    }

    static let echo: RPCUnaryHandler = { request in
        var trailers = RPCMetadata()
        try trailers.add("echo-id", request.head.metadata["x-id"] ?? "-")
        return RPCResponse(body: request.body, metadata: trailers)
    }

    @Test(
        "200 concurrent unary calls on one connection, each answered with its own body",
        arguments: ["inproc", "tcp"]
    )
    func concurrentCalls(_ transport: String) async throws {
        try await Self.withServer(
            transport: transport,
            handlers: ["/t.Echo/Say": Self.echo],
            limits: .init(maxCalls: 1024, maxCallsPerPeer: 256)
        ) { client, _, _ in
            let matched = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<200 {
                    group.addTask {
                        var metadata = RPCMetadata()
                        try metadata.add("x-id", "\(i)")
                        let body = Array("call \(i)".utf8)
                        let response = try await client.unary(
                            "/t.Echo/Say",
                            body,
                            timeout: .seconds(120),
                            metadata: metadata
                        )
                        return response.body == body && response.metadata["echo-id"] == "\(i)"
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(matched == 200)
            #expect(client.callsInFlight == 0)
        }
    }

    @Test("unknown method, a handler's own status and a failing handler: each its own code and reason")
    func statuses() async throws {
        struct Boom: Error {}
        let handlers: [String: RPCUnaryHandler] = [
            "/t.S/Refuse": { _ in
                throw RPCError(code: .failedPrecondition, message: "catalog differs", reason: "CATALOG_MISMATCH")
            },
            "/t.S/Crash": { _ in throw Boom() },
            "/t.S/Seven": { _ in RPCResponse(body: [7]) },
        ]
        try await Self.withServer(handlers: handlers) { client, _, _ in
            let unknown = await #expect(throws: RPCError.self) {
                try await client.unary("/t.S/Nope", [], timeout: .seconds(60))
            }
            #expect(unknown?.code == .unimplemented && unknown?.reason == RPCReason.unknownMethod)
            #expect(unknown?.message.contains("/t.S/Nope") == true)
            let refused = await #expect(throws: RPCError.self) {
                try await client.unary("/t.S/Refuse", [], timeout: .seconds(60))
            }
            #expect(refused?.code == .failedPrecondition && refused?.reason == "CATALOG_MISMATCH")
            // A huge timeout is clamped for the timer, never a trap; a negative one has already expired.
            let huge = try await client.unary("/t.S/Seven", [], timeout: .seconds(Int64.max))
            #expect(huge.body == [7])
            let expired = await #expect(throws: RPCError.self) {
                try await client.unary("/t.S/Seven", [], timeout: .seconds(-5))
            }
            #expect(expired?.code == .deadlineExceeded)
            let crashed = await #expect(throws: RPCError.self) {
                try await client.unary("/t.S/Crash", [], timeout: .seconds(60))
            }
            #expect(crashed?.code == .internal)
        }
    }

    @Test("an expired deadline: the client gets DEADLINE_EXCEEDED and the server cancels the handler")
    func deadline() async throws {
        let observed = Mutex(false)
        let handlers: [String: RPCUnaryHandler] = [
            "/t.S/Slow": { _ in
                do {
                    try await Task.sleep(for: .seconds(600))
                } catch {
                    observed.withLock { $0 = true }
                    throw error
                }
                return RPCResponse(body: [])
            }
        ]
        try await Self.withServer(handlers: handlers) { client, _, _ in
            let error = await #expect(throws: RPCError.self) {
                try await client.unary("/t.S/Slow", [], timeout: .milliseconds(200))
            }
            #expect(error?.code == .deadlineExceeded && error?.reason == RPCReason.deadlineExceeded)
            // The server enforces the same budget: its handler is cancelled (an event, awaited without a timing bound).
            while !observed.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        }
    }

    @Test("cancelling the calling task cancels the call on both sides")
    func cancellation() async throws {
        let started = Mutex(false)
        let cancelled = Mutex(false)
        let handlers: [String: RPCUnaryHandler] = [
            "/t.S/Wait": { _ in
                started.withLock { $0 = true }
                do {
                    try await Task.sleep(for: .seconds(600))
                } catch {
                    cancelled.withLock { $0 = true }
                    throw error
                }
                return RPCResponse(body: [])
            }
        ]
        try await Self.withServer(handlers: handlers) { client, _, _ in
            let call = Task { try await client.unary("/t.S/Wait", [], timeout: .seconds(600)) }
            while !started.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
            call.cancel()
            let result = await call.result
            guard case .failure(let error as RPCError) = result else {
                Issue.record("the cancelled call returned \(result)")
                return
            }
            #expect(error.code == .cancelled)
            while !cancelled.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(10)) }
        }
    }

    @Test(
        "past the limit of calls in flight: RESOURCE_EXHAUSTED with OVERLOADED; an oversized request: MESSAGE_TOO_LARGE"
    )
    func limits() async throws {
        let release = Mutex(false)
        let running = Mutex(0)
        let handlers: [String: RPCUnaryHandler] = [
            "/t.S/Hold": { request in
                running.withLock { $0 += 1 }
                while !release.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
                return RPCResponse(body: request.body)
            },
            "/t.Echo/Say": Self.echo,
        ]
        try await Self.withServer(
            handlers: handlers,
            limits: .init(maxCalls: 2, maxCallsPerPeer: 2),
            maxMessageBytes: 1000
        ) { client, _, _ in
            let held = (0..<2).map { _ in Task { try await client.unary("/t.S/Hold", [1], timeout: .seconds(600)) } }
            while running.withLock({ $0 }) < 2 { try await Task.sleep(for: .milliseconds(5)) }
            let overloaded = await #expect(throws: RPCError.self) {
                try await client.unary("/t.Echo/Say", [2], timeout: .seconds(60))
            }
            #expect(overloaded?.code == .resourceExhausted && overloaded?.reason == RPCReason.overloaded)
            release.withLock { $0 = true }
            for task in held { #expect(try await task.value.body == [1]) }
            let large = await #expect(throws: RPCError.self) {
                try await client.unary("/t.Echo/Say", [UInt8](repeating: 0, count: 1001), timeout: .seconds(60))
            }
            #expect(large?.code == .resourceExhausted && large?.reason == RPCReason.messageTooLarge)
            // And the server still serves.
            #expect(try await client.unary("/t.Echo/Say", [3], timeout: .seconds(60)).body == [3])
        }
    }

    @Test("garbage frames from a raw peer are answered with a status; other callers are served meanwhile")
    func garbage() async throws {
        try await Self.withServer(handlers: ["/t.Echo/Say": Self.echo]) { client, endpoint, reactor in
            let answers = try await reactor.run { registry -> [RPCServerMessage] in
                let raw = try ZMQSocket(registry.context, type: .dealer)
                defer { raw.close() }
                try raw.set(.receiveTimeout, 60_000)
                try raw.connect(endpoint)
                let inputs: [[[UInt8]]] = [
                    [[0xde, 0xad]],
                    [RPCFrames.tag, [0xff, 0xff, 0xff]],
                    [Array("coop.rpc/2".utf8), [], []],
                    [RPCFrames.tag, RPCFrames.encode(.credit(callID: 77, credit: 1))[1]],
                    [RPCFrames.tag, RPCFrames.encode(.cancel(callID: 78))[1]],
                ]
                var answers: [RPCServerMessage] = []
                for input in inputs {
                    try raw.send(input)
                    guard let frames = try raw.receive() else { break }
                    answers.append(try RPCFrames.decodeServer(frames))
                }
                return answers
            }
            #expect(answers.count == 5)
            #expect(
                answers.map { $0.status?.reason } == [
                    RPCReason.protocolVersion, RPCReason.malformedFrame, RPCReason.protocolVersion,
                    RPCReason.unknownCall,
                    RPCReason.unknownCall,
                ]
            )
            #expect(answers.map(\.callID) == [0, 0, 0, 77, 78])
            #expect(try await client.unary("/t.Echo/Say", [9], timeout: .seconds(60)).body == [9])
        }
    }
}
