import CoopRPC
import Synchronization
import Testing

/// Unary calls between a real RPCServer and RPCClient, each scenario over every transport (in memory, ZeroMQ inproc,
/// ZeroMQ tcp on 127.0.0.1 port 0): routing, statuses, deadlines, cancellation, limits, response metadata.
@Suite("RPC unary calls")
struct RPCServerTests {
    static let echo: RPCUnaryHandler = { request in
        var trailers = RPCMetadata()
        try trailers.add("echo-id", request.head.metadata["x-id"] ?? "-")
        return RPCResponse(body: request.body, metadata: trailers)
    }

    @Test(
        "200 concurrent unary calls on one connection, each answered with its own body",
        arguments: RPCTransportKind.allCases
    )
    func concurrentCalls(_ kind: RPCTransportKind) async throws {
        try await withRPCServer(
            kind,
            methods: methods(unary: ["/t.Echo/Say": Self.echo]),
            limits: .init(maxCalls: 1024, maxCallsPerPeer: 256)
        ) { fixture in
            let client = fixture.client
            let matched = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<200 {
                    group.addTask {
                        var metadata = RPCMetadata()
                        try metadata.add("x-id", "\(i)")
                        let body = Array("call \(i)".utf8)
                        let response = try await client.unary(
                            "/t.Echo/Say",
                            body,
                            timeout: patient,
                            metadata: metadata
                        )
                        return response.body == body && response.metadata["echo-id"] == "\(i)"
                    }
                }
                return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(matched == 200)
            #expect(client.callsInFlight == 0)
            try await eventually("the server's calls to end") { fixture.server.callsInFlight == 0 }
        }
    }

    @Test(
        "unknown method, a handler's own status and a failing handler: each its own code and reason",
        arguments: RPCTransportKind.allCases
    )
    func statuses(_ kind: RPCTransportKind) async throws {
        struct Boom: Error {}
        let handlers: [String: RPCUnaryHandler] = [
            "/t.S/Refuse": { _ in
                throw RPCError(code: .failedPrecondition, message: "catalog differs", reason: "CATALOG_MISMATCH")
            },
            "/t.S/Crash": { _ in throw Boom() },
            "/t.S/Seven": { _ in RPCResponse(body: [7]) },
        ]
        try await withRPCServer(kind, methods: methods(unary: handlers)) { fixture in
            let client = fixture.client
            let unknown = await #expect(throws: RPCError.self) {
                try await client.unary("/t.S/Nope", [], timeout: patient)
            }
            #expect(unknown?.code == .unimplemented && unknown?.reason == RPCReason.unknownMethod)
            #expect(unknown?.message.contains("/t.S/Nope") == true)
            let refused = await #expect(throws: RPCError.self) {
                try await client.unary("/t.S/Refuse", [], timeout: patient)
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
                try await client.unary("/t.S/Crash", [], timeout: patient)
            }
            #expect(crashed?.code == .internal)
        }
    }

    @Test(
        "an expired deadline: the client gets DEADLINE_EXCEEDED and the server cancels the handler",
        arguments: RPCTransportKind.allCases
    )
    func deadline(_ kind: RPCTransportKind) async throws {
        let observed = Flag()
        let handlers: [String: RPCUnaryHandler] = [
            "/t.S/Slow": { _ in
                do {
                    try await Task.sleep(for: .seconds(600))
                } catch {
                    observed.set()
                    throw error
                }
                return RPCResponse(body: [])
            }
        ]
        try await withRPCServer(kind, methods: methods(unary: handlers)) { fixture in
            let error = await #expect(throws: RPCError.self) {
                try await fixture.client.unary("/t.S/Slow", [], timeout: .milliseconds(200))
            }
            #expect(error?.code == .deadlineExceeded && error?.reason == RPCReason.deadlineExceeded)
            // The server enforces the same budget: its handler is cancelled, and the call leaves its table.
            try await eventually("the handler to see its cancellation") { observed.isSet }
            try await eventually("the server's calls to end") { fixture.server.callsInFlight == 0 }
        }
    }

    @Test("cancelling the calling task cancels the call on both sides", arguments: RPCTransportKind.allCases)
    func cancellation(_ kind: RPCTransportKind) async throws {
        let started = Flag()
        let cancelled = Flag()
        let handlers: [String: RPCUnaryHandler] = [
            "/t.S/Wait": { _ in
                started.set()
                do {
                    try await Task.sleep(for: .seconds(600))
                } catch {
                    cancelled.set()
                    throw error
                }
                return RPCResponse(body: [])
            }
        ]
        try await withRPCServer(kind, methods: methods(unary: handlers)) { fixture in
            let client = fixture.client
            let call = Task { try await client.unary("/t.S/Wait", [], timeout: .seconds(600)) }
            try await eventually("the handler to start") { started.isSet }
            call.cancel()
            let result = await call.result
            guard case .failure(let error as RPCError) = result else {
                Issue.record("the cancelled call returned \(result)")
                return
            }
            #expect(error.code == .cancelled)
            try await eventually("the handler to see its cancellation") { cancelled.isSet }
            #expect(client.callsInFlight == 0)
        }
    }

    @Test(
        "past the limit of calls in flight: RESOURCE_EXHAUSTED with OVERLOADED; an oversized request: MESSAGE_TOO_LARGE",
        arguments: RPCTransportKind.allCases
    )
    func limits(_ kind: RPCTransportKind) async throws {
        let release = Flag()
        let running = Counter()
        let handlers: [String: RPCUnaryHandler] = [
            "/t.S/Hold": { request in
                running.increment()
                while !release.isSet { try await Task.sleep(for: .milliseconds(5)) }
                return RPCResponse(body: request.body)
            },
            "/t.Echo/Say": Self.echo,
        ]
        try await withRPCServer(
            kind,
            methods: methods(unary: handlers),
            limits: .init(maxCalls: 2, maxCallsPerPeer: 2),
            maxMessageBytes: 1000
        ) { fixture in
            let client = fixture.client
            let held = (0..<2).map { _ in Task { try await client.unary("/t.S/Hold", [1], timeout: .seconds(600)) } }
            try await eventually("two calls to be held") { running.value == 2 }
            #expect(fixture.server.callsInFlight == 2)
            let overloaded = await #expect(throws: RPCError.self) {
                try await client.unary("/t.Echo/Say", [2], timeout: patient)
            }
            #expect(overloaded?.code == .resourceExhausted && overloaded?.reason == RPCReason.overloaded)
            release.set()
            for task in held { #expect(try await task.value.body == [1]) }
            let large = await #expect(throws: RPCError.self) {
                try await client.unary("/t.Echo/Say", [UInt8](repeating: 0, count: 1001), timeout: patient)
            }
            #expect(large?.code == .resourceExhausted && large?.reason == RPCReason.messageTooLarge)
            // And the server still serves.
            #expect(try await client.unary("/t.Echo/Say", [3], timeout: patient).body == [3])
        }
    }

    @Test(
        "a unary handler's initial metadata arrives in a message of its own before the answer, apart from the trailers",
        arguments: RPCTransportKind.allCases
    )
    func initialMetadata(_ kind: RPCTransportKind) async throws {
        let handlers: [String: RPCUnaryHandler] = [
            "/t.S/Both": { request in
                var initial = RPCMetadata()
                try initial.add("x-served-by", "node-a")
                try initial.add("x-trace-bin", .binary([1, 2, 3]))
                var trailers = RPCMetadata()
                try trailers.add("x-cost", "7")
                return RPCResponse(body: request.body, metadata: trailers, initialMetadata: initial)
            },
            "/t.S/Plain": { request in RPCResponse(body: request.body) },
        ]
        try await withRPCServer(kind, methods: methods(unary: handlers)) { fixture in
            let both = try await fixture.client.unary("/t.S/Both", [4], timeout: patient)
            #expect(both.body == [4])
            #expect(both.initialMetadata["x-served-by"] == "node-a")
            #expect(both.initialMetadata.pairs.count == 2)
            #expect(both.metadata["x-cost"] == "7" && both.metadata["x-served-by"] == nil)
            let plain = try await fixture.client.unary("/t.S/Plain", [5], timeout: patient)
            #expect(plain.initialMetadata.isEmpty && plain.body == [5])

            // On the wire: a header-only message with the initial metadata, then the end with the trailers.
            let raw = try await fixture.makeRawPeer()
            try await raw.send(RawFrames.request(1, "/t.S/Both", body: [6]))
            let first = try await raw.next()
            #expect(first.callID == 1 && first.status == nil && first.body == nil)
            #expect(first.metadata["x-served-by"] == "node-a")
            let last = try await raw.next()
            #expect(last.status == .ok && last.body == [6] && last.metadata["x-cost"] == "7")
            await raw.close()
        }
    }
}
