import CoopRPC
import Synchronization
import Testing

/// Server and client interceptors, over every transport: authentication that refuses with PERMISSION_DENIED before
/// the handler runs, metrics that count outcomes by code, and the documented order.
@Suite("RPC interceptors")
struct RPCInterceptorTests {
    /// Admits a call only with `authorization: Bearer <token>`, or from a listed caller.
    struct Auth: RPCServerInterceptor {
        var token: String
        var callers: Set<String> = []

        func intercept(
            _ request: RPCRequest,
            context: RPCServerContext,
            next: @Sendable (RPCRequest, RPCServerContext) async throws -> RPCResponse
        ) async throws -> RPCResponse {
            let bearer = context.metadata["authorization"] == "Bearer \(token)"
            let known = context.caller.map { callers.contains($0) } ?? false
            guard bearer || known else {
                throw RPCError(
                    code: .permissionDenied,
                    message: "\(context.caller ?? "an anonymous caller") may not call \(context.method)",
                    reason: RPCReason.permissionDenied
                )
            }
            return try await next(request, context)
        }
    }

    /// Counts outcomes by status code, with their durations.
    final class Metrics: RPCServerInterceptor, RPCClientInterceptor {
        let counts = Mutex<[String: Int]>([:])
        let durations = Mutex<[Duration]>([])

        func record(_ code: RPCStatus.Code, since start: ContinuousClock.Instant) {
            counts.withLock { $0[code.description, default: 0] += 1 }
            durations.withLock { $0.append(ContinuousClock.now - start) }
        }

        func intercept(
            _ request: RPCRequest,
            context: RPCServerContext,
            next: @Sendable (RPCRequest, RPCServerContext) async throws -> RPCResponse
        ) async throws -> RPCResponse {
            let start = ContinuousClock.now
            do {
                let response = try await next(request, context)
                record(.ok, since: start)
                return response
            } catch let error as RPCError {
                record(error.code, since: start)
                throw error
            }
        }

        func intercept(
            _ call: RPCClientCall,
            next: @Sendable (RPCClientCall) async throws(RPCError) -> RPCResponse
        ) async throws(RPCError) -> RPCResponse {
            let start = ContinuousClock.now
            do {
                let response = try await next(call)
                record(.ok, since: start)
                return response
            } catch {
                record(error.code, since: start)
                throw error
            }
        }

        var snapshot: [String: Int] { counts.withLock { $0 } }
    }

    /// Writes "name>" on the way in and "<name" on the way out.
    struct Tracer: RPCServerInterceptor, RPCClientInterceptor {
        var name: String
        var log: Log

        func intercept(
            _ request: RPCRequest,
            context: RPCServerContext,
            next: @Sendable (RPCRequest, RPCServerContext) async throws -> RPCResponse
        ) async throws -> RPCResponse {
            log.add("\(name)>")
            defer { log.add("<\(name)") }
            return try await next(request, context)
        }

        func intercept(
            _ call: RPCClientCall,
            next: @Sendable (RPCClientCall) async throws(RPCError) -> RPCResponse
        ) async throws(RPCError) -> RPCResponse {
            log.add("\(name)>")
            defer { log.add("<\(name)") }
            var call = call
            try call.options.metadata.add("x-via", name)
            return try await next(call)
        }
    }

    final class Log: Sendable {
        private let lines = Mutex<[String]>([])
        func add(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
    }

    static let echo: RPCUnaryHandler = { request in RPCResponse(body: request.body) }

    @Test(
        "an auth interceptor refuses with PERMISSION_DENIED before the handler runs; the right token passes",
        arguments: RPCTransportKind.allCases
    )
    func authRefuses(_ kind: RPCTransportKind) async throws {
        let ran = Counter()
        try await withRPCServer(
            kind,
            methods: methods(unary: [
                "/t.S/Secret": { request in
                    ran.increment()
                    return RPCResponse(body: request.body)
                }
            ]),
            interceptors: [Auth(token: "sesame")]
        ) { fixture in
            let refused = await #expect(throws: RPCError.self) {
                try await fixture.client.unary("/t.S/Secret", [1], timeout: patient)
            }
            #expect(refused?.code == .permissionDenied && refused?.reason == RPCReason.permissionDenied)
            #expect(refused?.message.contains("/t.S/Secret") == true)
            // Unknown methods too: the interceptor runs before the method is looked up, so it reveals nothing.
            let unknown = await #expect(throws: RPCError.self) {
                try await fixture.client.unary("/t.S/Nope", [1], timeout: patient)
            }
            #expect(unknown?.code == .permissionDenied)
            #expect(ran.value == 0)
            var metadata = RPCMetadata()
            try metadata.add("authorization", "Bearer sesame")
            let admitted = try await fixture.client.unary("/t.S/Secret", [2], timeout: patient, metadata: metadata)
            #expect(admitted.body == [2] && ran.value == 1)
            try await eventually("the server's calls to end") { fixture.server.callsInFlight == 0 }
        }
    }

    @Test("an auth interceptor sees the caller's identity from the transport, never from the request")
    func authByCaller() async throws {
        try await withRPCServer(
            .inMemory,
            methods: methods(unary: ["/t.S/Secret": Self.echo]),
            interceptors: [Auth(token: "unused", callers: ["cq-staff"])]
        ) { fixture in
            let staff = try await fixture.makeClient(caller: "cq-staff")
            let guest = try await fixture.makeClient(caller: "cd-guest")
            #expect(try await staff.unary("/t.S/Secret", [3], timeout: patient).body == [3])
            let refused = await #expect(throws: RPCError.self) {
                try await guest.unary("/t.S/Secret", [4], timeout: patient)
            }
            #expect(refused?.code == .permissionDenied && refused?.message.contains("cd-guest") == true)
            await staff.close()
            await guest.close()
        }
    }

    @Test(
        "metrics interceptors count each outcome by code, on the server and on the client",
        arguments: RPCTransportKind.allCases
    )
    func metricsCountCodes(_ kind: RPCTransportKind) async throws {
        let server = Metrics()
        let client = Metrics()
        try await withRPCServer(
            kind,
            methods: methods(
                unary: [
                    "/t.S/Echo": Self.echo,
                    "/t.S/Missing": { _ in throw RPCError(code: .notFound, message: "no such item") },
                    "/t.S/Slow": { _ in
                        try await Task.sleep(for: .seconds(3600))
                        return RPCResponse(body: [])
                    },
                ],
                streams: [
                    "/t.S/Three": { _, writer in
                        for i in 0..<3 { try await writer.send([UInt8(i)]) }
                        return RPCMetadata()
                    }
                ]
            ),
            interceptors: [server],
            clientInterceptors: [client]
        ) { fixture in
            for i in 0..<3 { _ = try await fixture.client.unary("/t.S/Echo", [UInt8(i)], timeout: patient) }
            for _ in 0..<2 {
                _ = await #expect(throws: RPCError.self) {
                    try await fixture.client.unary("/t.S/Missing", [], timeout: patient)
                }
            }
            _ = await #expect(throws: RPCError.self) {
                try await fixture.client.unary("/t.S/Nope", [], timeout: patient)
            }
            _ = await #expect(throws: RPCError.self) {
                try await fixture.client.unary("/t.S/Slow", [], timeout: .milliseconds(100))
            }
            var streamed = 0
            for try await _ in try fixture.client.serverStream("/t.S/Three", [], timeout: patient) {
                streamed += 1
            }
            #expect(streamed == 3)
            // The server records an outcome when the call's end is decided, which can be just after the client has it.
            try await eventually("the server's metrics") { server.snapshot.values.reduce(0, +) == 8 }
            // The slow call: the client cancels at its deadline, which may reach the server before the server's own
            // clock (started later) runs out: DEADLINE_EXCEEDED or CANCELLED there.
            var counts = server.snapshot
            let late = counts.removeValue(forKey: "DEADLINE_EXCEEDED") ?? counts.removeValue(forKey: "CANCELLED")
            #expect(late == 1, "\(server.snapshot)")
            #expect(counts == ["OK": 4, "NOT_FOUND": 2, "UNIMPLEMENTED": 1], "\(server.snapshot)")
            // The client's interceptors see unary calls only.
            #expect(
                client.snapshot == ["OK": 3, "NOT_FOUND": 2, "UNIMPLEMENTED": 1, "DEADLINE_EXCEEDED": 1],
                "\(client.snapshot)"
            )
            #expect(client.durations.withLock { $0.allSatisfy { $0 > .zero } })
            #expect(server.durations.withLock { $0.count } == 8)
        }
    }

    @Test(
        "interceptors run first to last on the way in and last to first on the way out, on both sides",
        arguments: RPCTransportKind.allCases
    )
    func ordering(_ kind: RPCTransportKind) async throws {
        let serverLog = Log()
        let clientLog = Log()
        let seen = Mutex<[String]>([])
        try await withRPCServer(
            kind,
            methods: methods(unary: [
                "/t.S/Echo": { request in
                    serverLog.add("handler")
                    seen.withLock { s in
                        s = request.head.metadata.pairs.compactMap { pair in
                            guard pair.key == "x-via", case .text(let text) = pair.value else { return nil }
                            return text
                        }
                    }
                    return RPCResponse(body: request.body)
                }
            ]),
            interceptors: [Tracer(name: "s1", log: serverLog), Tracer(name: "s2", log: serverLog)],
            clientInterceptors: [Tracer(name: "c1", log: clientLog), Tracer(name: "c2", log: clientLog)]
        ) { fixture in
            _ = try await fixture.client.unary("/t.S/Echo", [1], timeout: patient)
            #expect(clientLog.all == ["c1>", "c2>", "<c2", "<c1"])
            try await eventually("the server's interceptors to finish") { serverLog.all.count == 5 }
            #expect(serverLog.all == ["s1>", "s2>", "handler", "<s2", "<s1"])
            // Each client interceptor added its metadata in turn; the request carried both, in order.
            #expect(seen.withLock { $0 } == ["c1", "c2"])
        }
    }

    @Test("a client interceptor that refuses a call: nothing is sent", arguments: RPCTransportKind.allCases)
    func clientRefuses(_ kind: RPCTransportKind) async throws {
        struct ReadOnly: RPCClientInterceptor {
            func intercept(
                _ call: RPCClientCall,
                next: @Sendable (RPCClientCall) async throws(RPCError) -> RPCResponse
            ) async throws(RPCError) -> RPCResponse {
                guard call.method.hasPrefix("/t.S/Get") else {
                    throw RPCError(code: .permissionDenied, message: "this client only reads", reason: "READ_ONLY")
                }
                return try await next(call)
            }
        }
        let ran = Counter()
        try await withRPCServer(
            kind,
            methods: methods(unary: [
                "/t.S/GetItem": Self.echo,
                "/t.S/Update": { request in
                    ran.increment()
                    return RPCResponse(body: request.body)
                },
            ]),
            clientInterceptors: [ReadOnly()]
        ) { fixture in
            let refused = await #expect(throws: RPCError.self) {
                try await fixture.client.unary("/t.S/Update", [1], timeout: patient)
            }
            #expect(refused?.reason == "READ_ONLY")
            let read = try await fixture.client.unary("/t.S/GetItem", [2], timeout: patient)
            #expect(read.body == [2])
            #expect(ran.value == 0)
        }
    }
}
