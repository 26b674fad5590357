import CoopRPC
import Testing

/// A client that sends hand-made frames and reads raw answers: over ZeroMQ a bare DEALER (the client transport, with
/// no RPC client above it), in memory a bare connection. For bad-input tests.
final class RPCRawPeer: Sendable {
    let transport: any RPCClientTransport
    private let messages = Inbox<[[UInt8]]>()
    private let connected = Inbox<Bool>()

    private init(_ transport: any RPCClientTransport) {
        self.transport = transport
    }

    /// Connects and waits for the connection.
    static func connect(_ transport: any RPCClientTransport) async throws -> RPCRawPeer {
        let peer = RPCRawPeer(transport)
        try await transport.connect { [messages = peer.messages, connected = peer.connected] event in
            switch event {
            case .received(let frames): messages.put(frames)
            case .connected: connected.put(true)
            default: break
            }
        }
        _ = try await peer.connected.next(limit: patient, "the raw peer's connection")
        return peer
    }

    /// Sends `frames` as one message; expects the transport to take it.
    func send(_ frames: [[UInt8]]) async throws {
        let result = Inbox<RPCSendResult>()
        transport.send(frames) { result.put($0) }
        let outcome = try await result.next(limit: patient, "the send's outcome")
        #expect(outcome == .sent)
    }

    /// The next message from the server, as its frames.
    func nextFrames() async throws -> [[UInt8]] {
        try await messages.next(limit: patient, "an answer from the server")
    }

    /// The next message from the server, decoded; with `skippingProbes`, header-only messages are passed over.
    func next(skippingProbes: Bool = false) async throws -> RPCServerMessage {
        while true {
            let frames = try await messages.next(limit: patient, "an answer from the server")
            let message = try RPCFrames.decodeServer(frames)
            if skippingProbes && message.body == nil && message.status == nil { continue }
            return message
        }
    }

    /// Messages received and not read yet.
    var pending: Int { messages.count }

    func close() async {
        await transport.close()
    }
}

/// Hand-made request frames.
enum RawFrames {
    static func request(
        _ callID: UInt64,
        _ method: String,
        timeoutMicroseconds: UInt64? = nil,
        credit: UInt32? = nil,
        batch: UInt32? = nil,
        packed: Bool = false,
        body: [UInt8] = []
    ) -> [[UInt8]] {
        RPCFrames.encode(
            .request(
                RPCRequestHead(
                    callID: callID,
                    method: method,
                    timeoutMicroseconds: timeoutMicroseconds,
                    credit: credit,
                    batch: batch,
                    packed: packed
                ),
                body: body
            )
        )
    }
}
