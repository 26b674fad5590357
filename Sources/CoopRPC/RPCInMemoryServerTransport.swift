import Synchronization

/// A server transport on an ``RPCInMemoryNetwork``: no socket, no thread; for tests and for running a service and its
/// client in one process without ZeroMQ.
///
/// **Threading.** `Sendable`. Events reach the server's handler one at a time, in order, on the thread of whoever
/// caused them (a client sending, the network dropping a connection), through an ``RPCMailbox``; sends are handed to
/// the client's mailbox at once and `completion` is called before ``send(_:to:then:)`` returns.
public final class RPCInMemoryServerTransport: RPCServerTransport {
    public let network: RPCInMemoryNetwork
    private let requested: String
    private let mailbox = RPCMailbox<RPCServerTransportEvent>()
    private let address = Mutex<String?>(nil)

    /// A transport that will listen on `address` of `network` (an empty address picks a fresh name, like port 0).
    public init(network: RPCInMemoryNetwork, address: String = "") {
        self.network = network
        self.requested = address
    }

    public func listen(
        _ handler: @escaping @Sendable (RPCServerTransportEvent) -> Void
    ) async throws(RPCError) -> String {
        mailbox.open(handler)
        let bound = try network.listen(requested, mailbox: mailbox)
        address.withLock { $0 = bound }
        return bound
    }

    public func send(_ frames: [[UInt8]], to peer: [UInt8], then completion: (@Sendable (RPCSendResult) -> Void)?) {
        guard let address = address.withLock({ $0 }) else {
            completion?(.closed)
            return
        }
        let result = network.serverSend(address, to: peer, frames)
        completion?(result)
    }

    public func close() async {
        guard let bound = address.withLock({ $0 }) else {
            mailbox.close()
            return
        }
        network.closeServer(bound, mailbox: mailbox)
    }
}
