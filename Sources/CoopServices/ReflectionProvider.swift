public import CoopRPC
public import CoopWire

/// The `coop.v1.Reflection` service: which services and methods a server offers, and the descriptor set of every
/// message type, so that a generic client (`coop call`) needs no `.proto` files.
///
/// **Threading.** `Sendable`; immutable.
public struct ReflectionProvider: ReflectionService.Handler {
    /// The services offered, as protoc-c's service descriptors describe them.
    public let services: [ServiceDescription]

    /// Reflection of a server whose methods are `methods` (full names, `/coop.v1.Ledger/GetItem`): every service
    /// with at least one of them, listing only those.
    public init(methods: some Sequence<String>) {
        let offered = Set(methods)
        self.services = MessageRegistry.services.compactMap { service in
            let methods = service.methods.filter { offered.contains($0.fullName) }
            return methods.isEmpty ? nil : ServiceDescription(name: service.name, methods: methods)
        }
    }

    public func listServices(
        _ request: ListServicesRequest,
        context: RPCServerContext
    ) async throws -> ListServicesResponse {
        ListServicesResponse(
            services: services.map { service in
                ServiceInfo(
                    name: service.name,
                    methods: service.methods.map { method in
                        MethodInfo(
                            name: method.name,
                            fullName: method.fullName,
                            inputType: method.inputType,
                            outputType: method.outputType,
                            serverStreaming: method.serverStreaming,
                            clientStreaming: false
                        )
                    }
                )
            }
        )
    }

    public func getFileDescriptorSet(
        _ request: FileDescriptorSetRequest,
        context: RPCServerContext
    ) async throws -> FileDescriptorSetResponse {
        FileDescriptorSetResponse(fileDescriptorSet: MessageRegistry.fileDescriptorSet)
    }
}
