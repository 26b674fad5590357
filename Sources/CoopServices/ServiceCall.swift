public import CoopRPC
public import CoopWire

/// Typed calls over an `RPCClient`, used by generated clients (`<Service>.Client`). Thread-safe (no state).
public enum ServiceCall {
    /// Why a response did not decode as the method's response type (INTERNAL: the server is broken or not what
    /// the client takes it for).
    public static let malformedResponse = "MALFORMED_RESPONSE"

    /// Calls the unary method `descriptor` with `request`. A method marked idempotent is made retryable.
    public static func unary<Request: WireMessage, Response: WireMessage>(
        _ client: RPCClient,
        _ descriptor: RPCMethodDescriptor,
        _ request: Request,
        options: RPCCallOptions
    ) async throws(RPCError) -> Response {
        var options = options
        if descriptor.isIdempotent { options.isIdempotent = true }
        let response = try await client.unary(descriptor.fullName, request.wireBytes(), options: options)
        return try decodeResponse(response.body, for: descriptor)
    }

    /// Calls the server-streaming method `descriptor` with `request`.
    public static func serverStream<Request: WireMessage, Response: WireMessage>(
        _ client: RPCClient,
        _ descriptor: RPCMethodDescriptor,
        _ request: Request,
        options: RPCCallOptions
    ) throws(RPCError) -> TypedStream<Response> {
        var options = options
        if descriptor.isIdempotent { options.isIdempotent = true }
        let stream = try client.serverStream(descriptor.fullName, request.wireBytes(), options: options)
        return TypedStream(stream, descriptor: descriptor)
    }

    /// `bytes` decoded as the response type of `descriptor`, or INTERNAL naming what is wrong.
    public static func decodeResponse<Response: WireMessage>(
        _ bytes: [UInt8],
        for descriptor: RPCMethodDescriptor
    ) throws(RPCError) -> Response {
        do {
            return try Response(wireBytes: bytes)
        } catch {
            throw RPCError(
                code: .internal,
                message: "the answer from \(descriptor.fullName) is not a valid \(descriptor.outputType): \(error)",
                reason: malformedResponse,
                cause: error
            )
        }
    }
}
