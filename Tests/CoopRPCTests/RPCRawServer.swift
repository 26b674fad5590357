import CoopRPC
import CoopZMQ
import Testing

/// A server that speaks the frames by hand and answers nothing by itself: over ZeroMQ a bare ROUTER (the server
/// transport, with no RPC server above it), in memory a bare listener. For tests of how a client meets a server that
/// breaks the protocol.
final class RPCRawServer: Sendable {
    /// A client message as it arrived: the peer (connection) it came on, and its frames.
    struct Received: Sendable {
        var peer: [UInt8]
        var frames: [[UInt8]]
    }

    let transport: any RPCServerTransport
    /// The address bound: a ZeroMQ endpoint (with the port chosen), or an in-memory name.
    let address: String
    private let messages: Inbox<Received>

    private init(_ transport: any RPCServerTransport, address: String, messages: Inbox<Received>) {
        self.transport = transport
        self.address = address
        self.messages = messages
    }

    /// Listens on `transport`.
    static func listen(_ transport: any RPCServerTransport) async throws -> RPCRawServer {
        let messages = Inbox<Received>()
        let address = try await transport.listen { event in
            guard case .received(let peer, let frames, _) = event else { return }
            messages.put(Received(peer: peer, frames: frames))
        }
        return RPCRawServer(transport, address: address, messages: messages)
    }

    /// The next client message, decoded, with the peer it came from.
    func next() async throws -> (peer: [UInt8], message: RPCClientMessage) {
        let received = try await messages.next(limit: patient, "a message from the client")
        return (received.peer, try RPCFrames.decodeClient(received.frames))
    }

    /// Sends `message` to `peer`; expects the transport to take it.
    func send(_ message: RPCServerMessage, to peer: [UInt8]) async throws {
        try await send(frames: RPCFrames.encode(message), to: peer)
    }

    /// Sends `frames` as they are (a server that breaks the protocol); expects the transport to take them.
    func send(frames: [[UInt8]], to peer: [UInt8]) async throws {
        let result = Inbox<RPCSendResult>()
        transport.send(frames, to: peer) { result.put($0) }
        let outcome = try await result.next(limit: patient, "the send's outcome")
        #expect(outcome == .sent)
    }

    /// Client messages received and not read yet.
    var pending: Int { messages.count }

    func close() async {
        await transport.close()
    }

    /// Runs `body` with a raw server over `kind` (ZeroMQ on 127.0.0.1 port 0 for tcp) and a client connected to it,
    /// then closes both and stops the reactors. With ``RPCTransportKind/tcpDirect`` the body runs on the client's
    /// reactor, as in `withRPCServer`.
    static func with(
        _ kind: RPCTransportKind,
        _ body: (RPCRawServer, RPCClient) async throws -> Void
    ) async throws {
        let context = try ZMQContext()
        let serverReactor = try ZMQReactor(context: context, name: "raw-srv")
        let clientReactor = try ZMQReactor(context: context, name: "raw-cli")
        let network = RPCInMemoryNetwork()
        let transport = kind.serverTransport(reactor: serverReactor, network: network, name: "raw")
        let raw = try await listen(transport)
        let client = RPCClient(
            transport: kind == .inMemory
                ? RPCInMemoryClientTransport(network: network, address: raw.address)
                : RPCZMQClientTransport(reactor: clientReactor, endpoint: raw.address)
        )
        var failure: (any Error)?
        do {
            try await client.connect()
            if kind == .tcpDirect {
                try await withTaskExecutorPreference(client.transportExecutor) { try await body(raw, client) }
            } else {
                try await body(raw, client)
            }
        } catch {
            failure = error
        }
        await client.close()
        await raw.close()
        await clientReactor.shutdown()
        await serverReactor.shutdown()
        if let failure { throw failure }
    }
}
