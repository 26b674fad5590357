/// Code that runs around every call a server admits — for authentication, logging and metrics (grpc-swift 2's
/// `ServerInterceptor`, over encoded messages).
///
/// **Threading.** `Sendable`; called concurrently for different calls, each time on the task that serves the call
/// (a child of ``RPCServer/run()``'s task group). An interceptor keeps shared state behind a lock of its own.
///
/// **Order.** A server's interceptors run in the order given: the first sees the call first and its outcome last.
/// Each may look at the call and its context (method, metadata, the authenticated caller, the deadline budget), may
/// refuse it by throwing an ``RPCError`` (its status is the call's answer; `next` and the handler never run), may
/// change the request passed to `next`, and sees the outcome: `next` returns the response (for a server stream, an
/// empty body and the trailing metadata, once the stream has ended) or throws the call's ``RPCError`` — including
/// DEADLINE_EXCEEDED when the deadline passed, CANCELLED when the client cancelled or went away, and
/// UNIMPLEMENTED (`UNKNOWN_METHOD`) for a method the server does not have, since interceptors run before the method is
/// looked up. Interceptors run outside the race against the deadline: they should be quick.
public protocol RPCServerInterceptor: Sendable {
    /// Handles one call; call `next` to go on with it (to the next interceptor, then the handler).
    func intercept(
        _ request: RPCRequest,
        context: RPCServerContext,
        next: @Sendable (RPCRequest, RPCServerContext) async throws -> RPCResponse
    ) async throws -> RPCResponse
}
