public import CoopRPC
public import CoopWire

/// Turns typed handlers into the untyped ``RPCMethod``s an `RPCServer` routes to: decodes each request as the
/// method's request type and encodes what the handler answers. Generated code (`<Service>.Handler.rpcMethods`) calls
/// it; thread-safe (pure functions).
public enum ServiceBinding {
    /// A unary method: a request that does not decode as `Request` is answered INVALID_ARGUMENT
    /// (`MALFORMED_REQUEST`, naming the method, the expected type and the problem) without calling `handler`.
    public static func unary<Request: WireMessage, Response: WireMessage>(
        _ descriptor: RPCMethodDescriptor,
        _ handler: @escaping @Sendable (Request, RPCServerContext) async throws -> Response
    ) -> RPCMethod {
        .unary { request in
            let message: Request = try decode(request.body, for: descriptor)
            let response = try await handler(message, RPCServerContext(request))
            return RPCResponse(body: response.wireBytes())
        }
    }

    /// A server-streaming method; requests are decoded as for ``unary(_:_:)``.
    public static func serverStream<Request: WireMessage, Response: WireMessage>(
        _ descriptor: RPCMethodDescriptor,
        _ handler: @escaping @Sendable (Request, TypedStreamWriter<Response>, RPCServerContext) async throws -> Void
    ) -> RPCMethod {
        .serverStream { request, writer in
            let message: Request = try decode(request.body, for: descriptor)
            try await handler(message, TypedStreamWriter(writer), RPCServerContext(request))
            return RPCMetadata()
        }
    }

    /// `body` decoded as the request type of `descriptor`, or INVALID_ARGUMENT naming what is wrong.
    public static func decode<Request: WireMessage>(
        _ body: [UInt8],
        for descriptor: RPCMethodDescriptor
    ) throws(RPCError) -> Request {
        do {
            return try Request(wireBytes: body)
        } catch {
            throw RPCError(
                code: .invalidArgument,
                message: "the request to \(descriptor.fullName) is not a valid \(descriptor.inputType): \(error)",
                reason: RPCReason.malformedRequest,
                cause: error
            )
        }
    }
}
