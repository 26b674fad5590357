/// A client transport on an ``RPCInMemoryNetwork``: connects to the server listening on `address` (waiting for one if
/// none listens yet, reconnecting when a new one does), with an optional caller identity that the server sees as if
/// it came from an authenticated key.
///
/// **Threading.** `Sendable`. Events reach the client's handler one at a time, in order, through an ``RPCMailbox``;
/// `completion` is called before ``send(_:then:)`` returns.
public final class RPCInMemoryClientTransport: RPCClientTransport {
    public let network: RPCInMemoryNetwork
    public let address: String
    /// The identity the server sees (``RPCRequest/caller``); `nil`: none, as on a plain-text ZeroMQ server.
    public let caller: String?
    private let id: UInt64
    private let mailbox = RPCMailbox<RPCClientTransportEvent>()

    public init(network: RPCInMemoryNetwork, address: String, caller: String? = nil) {
        self.network = network
        self.address = address
        self.caller = caller
        self.id = network.newID()
    }

    public func connect(_ handler: @escaping @Sendable (RPCClientTransportEvent) -> Void) async throws(RPCError) {
        mailbox.open(handler)
        network.addClient(id, address: address, caller: caller, mailbox: mailbox)
    }

    public func send(_ frames: [[UInt8]], then completion: (@Sendable (RPCSendResult) -> Void)?) {
        // Not `completion?(network.clientSend(…))`: optional chaining would skip the send without a completion.
        let result = network.clientSend(id, frames)
        completion?(result)
    }

    public func close() async {
        network.removeClient(id)
    }
}
