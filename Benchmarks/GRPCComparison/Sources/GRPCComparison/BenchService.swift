import GRPCCore

/// The service measured, hand-written instead of generated (no protoc plugin): `coop.bench.v1.Bench/Echo`, a unary
/// method that answers a fixed 256-byte response to a 261-byte request, as `coop-bench rpc-unary` does. Thread-safe.
struct BenchService: RegistrableRPCService {
    static let requestBytes = 261
    static let responseBytes = 256
    static let echo = MethodDescriptor(fullyQualifiedService: "coop.bench.v1.Bench", method: "Echo", type: .unary)

    /// The same bytes as `RPCBench.request` and `RPCBench.response` in coop-bench.
    static let request: [UInt8] = (0..<requestBytes).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
    static let response: [UInt8] = (0..<responseBytes).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        let response = Self.response
        router.registerHandler(
            forMethod: Self.echo,
            deserializer: RawBytesCoder(),
            serializer: RawBytesCoder()
        ) { request, _ in
            // What generated code does for a unary method: collect the one request message, answer one message.
            _ = try await ServerRequest(stream: request)
            return StreamingServerResponse(single: ServerResponse(message: response))
        }
    }
}
