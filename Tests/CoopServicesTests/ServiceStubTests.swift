import CoopRPC
import CoopServices
import CoopWire
import CoopZMQ
import Testing

/// The typed stubs generated from `proto/`, the health and reflection services, over a real RPCServer and RPCClient
/// on ZeroMQ (inproc, and tcp on 127.0.0.1 port 0).
@Suite("Generated service stubs, health and reflection")
struct ServiceStubTests {
    /// A running server of `methods` and a connected client; `body` runs, then both stop.
    static func withServer(
        transport: String,
        methods: [String: RPCMethod],
        _ body: (RPCClient) async throws -> Void
    ) async throws {
        let context = try ZMQContext()
        let serverReactor = try ZMQReactor(context: context, name: "svc-srv")
        let clientReactor = try ZMQReactor(context: context, name: "svc-cli")
        let endpoint =
            transport == "tcp" ? "tcp://127.0.0.1:0" : "inproc://svc-\(UInt64.random(in: 0...UInt64.max))"
        let server = RPCServer(reactor: serverReactor, endpoint: endpoint, methods: methods)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let client = RPCClient(reactor: clientReactor, endpoint: try await server.boundEndpoint())
            try await client.connect()
            try await body(client)
            await client.close()
            group.cancelAll()
            try await group.waitForAll()
        }
        await clientReactor.shutdown()
        await serverReactor.shutdown()
    }

    @Test("every generated method descriptor matches protoc-c's service descriptor")
    func descriptorsMatchProtocC() {
        let generated = [
            HealthService.Method.all, ReflectionService.Method.all, LedgerService.Method.all,
            SyncService.Method.all,
        ]
        .flatMap { $0 }
        let fromC = MessageRegistry.services.flatMap(\.methods)
        #expect(generated.count == fromC.count)
        for method in generated {
            let c = fromC.first { $0.fullName == method.fullName }
            #expect(c != nil, "\(method) is not in protoc-c's descriptors")
            #expect(c?.inputType == method.inputType)
            #expect(c?.outputType == method.outputType)
            #expect(c?.serverStreaming == method.isServerStreaming)
        }
        #expect(LedgerService.Method.getItem.isIdempotent)
        #expect(!LedgerService.Method.updateStatus.isIdempotent)
        #expect(LedgerService.Method.watchChanges.isServerStreaming)
    }

    @Test("health: check, unknown service, and a watch that sees a change", arguments: ["inproc", "tcp"])
    func health(_ transport: String) async throws {
        let health = HealthProvider(services: ["coop.v1.Ledger"])
        try await Self.withServer(transport: transport, methods: health.rpcMethods) { rpc in
            let client = HealthService.Client(rpc)
            // A deadline only a hang reaches: in a full `swift test` on two cores, tests that block Swift's pool
            // while they wait for child processes held it for more than 30 s once (DEADLINE_EXCEEDED here).
            let whole = try await client.check(HealthCheckRequest(service: ""), options: .init(timeout: .seconds(900)))
            #expect(whole.status == .serving)
            do {
                _ = try await client.check(HealthCheckRequest(service: "coop.v1.Nope"))
                Issue.record("an unknown service was answered")
            } catch let error as RPCError {
                #expect(error.code == .notFound)
                #expect(error.message.contains("coop.v1.Nope"))
            }
            let watch = try client.watch(HealthCheckRequest(service: "coop.v1.Ledger"))
            var iterator = watch.makeAsyncIterator()
            let first = try await iterator.next()
            #expect(first?.status == .serving)
            health.set("coop.v1.Ledger", status: .degraded, reasons: ["evidence of equivocation by cd-wuhou"])
            let second = try await iterator.next()
            #expect(second?.status == .degraded)
            #expect(second?.reasons == ["evidence of equivocation by cd-wuhou"])
            health.shutDown()
            let third = try await iterator.next()
            #expect(third?.status == .notServing)
        }
    }

    @Test("a request that is not the method's type is answered INVALID_ARGUMENT, MALFORMED_REQUEST")
    func wrongRequestType() async throws {
        let health = HealthProvider(services: [])
        try await Self.withServer(transport: "inproc", methods: health.rpcMethods) { rpc in
            // Field 1 as a varint where HealthCheckRequest has a string: not a HealthCheckRequest.
            let notARequest: [UInt8] = [0x08, 0x96, 0x01]
            do {
                _ = try await rpc.unary(HealthService.Method.check.fullName, notARequest, options: .init())
                Issue.record("a malformed request was answered OK")
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
                #expect(error.reason == RPCReason.malformedRequest)
                #expect(error.message.contains("coop.v1.HealthCheckRequest"))
            }
            // The server goes on serving.
            let ok = try await HealthService.Client(rpc).check()
            #expect(ok.status == .serving)
        }
    }

    @Test("reflection lists what the server offers and serves the descriptor set", arguments: ["inproc", "tcp"])
    func reflection(_ transport: String) async throws {
        let health = HealthProvider(services: [])
        var methods = health.rpcMethods
        let reflection = ReflectionProvider(methods: Array(methods.keys) + ReflectionService.Method.all.map(\.fullName))
        methods.merge(reflection.rpcMethods) { a, _ in a }
        try await Self.withServer(transport: transport, methods: methods) { rpc in
            let client = ReflectionService.Client(rpc)
            let listed = try await client.listServices()
            #expect(listed.services.map(\.name).sorted() == ["coop.v1.Health", "coop.v1.Reflection"])
            let watch = listed.services.first { $0.name == "coop.v1.Health" }?.methods.first { $0.name == "Watch" }
            #expect(watch?.serverStreaming == true)
            #expect(watch?.outputType == "coop.v1.HealthCheckResponse")
            let set = try await client.getFileDescriptorSet()
            #expect(set.fileDescriptorSet == MessageRegistry.fileDescriptorSet)
            #expect(set.fileDescriptorSet.count > 1000)
        }
    }
}
