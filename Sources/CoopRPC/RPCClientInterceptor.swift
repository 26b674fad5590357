/// Code that runs around every unary call a client makes — to add credentials, log, or count outcomes (grpc-swift 2's
/// `ClientInterceptor`, over encoded messages).
///
/// **Threading.** `Sendable`; called concurrently for different calls, each time on the calling task. An interceptor
/// keeps shared state behind a lock of its own.
///
/// **Order.** A client's interceptors run in the order given: the first sees the call first and its outcome last.
/// Each may change the call passed to `next` (add metadata, shorten the timeout), may refuse it by throwing an
/// ``RPCError`` (nothing is sent), and sees the outcome: `next` returns the response or throws the call's error. An
/// interceptor sees the call once, however many attempts ``RPCRetryPolicy`` makes below it.
///
/// Server streams start synchronously (``RPCClient/serverStream(_:_:options:)`` returns at once) and are not passed
/// through client interceptors; give their metadata in their ``RPCCallOptions``.
public protocol RPCClientInterceptor: Sendable {
    /// Handles one call; call `next` to go on with it (to the next interceptor, then the transport).
    func intercept(
        _ call: RPCClientCall,
        next: @Sendable (RPCClientCall) async throws(RPCError) -> RPCResponse
    ) async throws(RPCError) -> RPCResponse
}
