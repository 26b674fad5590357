import CoopRPC
import CoopZMQ
import Synchronization
import Testing

/// The ZeroMQ transports call their event handler the same way for the first event and the thousandth. Their handler
/// used to sit in a `Mutex` whose value was the function itself: every `withLock` reabstracted it (out of the lock's
/// generic storage and back in), wrapping it in two more thunks, so each event walked a chain that grew by two calls
/// per event — 63% of a busy node's CPU after a few thousand calls, and the stack deeper with every event.
@Suite("ZeroMQ transports: the event handler's cost does not grow")
struct RPCTransportHandlerTests {
    /// The address of a local of the caller: how deep the stack is where it runs.
    @inline(never)
    static func stackDepthMarker() -> UInt {
        var marker = 0
        return withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
    }

    static let events = 1_500

    @Test("the server transport's handler runs at the same stack depth for the first and the 1,500th message")
    func serverTransport() async throws {
        let context = try ZMQContext()
        let reactor = try ZMQReactor(context: context, name: "depth-srv")
        let raw = try ZMQReactor(context: context, name: "depth-raw")
        let transport = RPCZMQServerTransport(
            reactor: reactor,
            endpoint: "inproc://depth-\(UInt64.random(in: 0...UInt64.max))"
        )
        let depths = Mutex<[UInt]>([])
        let endpoint = try await transport.listen { event in
            guard case .received = event else { return }
            let depth = Self.stackDepthMarker()
            depths.withLock { $0.append(depth) }
        }
        try await raw.run { registry in
            let dealer = try ZMQSocket(registry.context, type: .dealer)
            try dealer.connect(endpoint)
            for i in 0..<Self.events { try dealer.send([[UInt8(i & 0xFF)]]) }
            registry.register(dealer)
        }
        try await eventually("\(Self.events) messages") { depths.withLock { $0.count } == Self.events }
        let seen = depths.withLock { $0 }
        let spread = seen.max()! - seen.min()!
        #expect(spread < 8_192, "the handler's stack moved by \(spread) bytes over \(Self.events) events")
        await transport.close()
        await raw.shutdown()
        await reactor.shutdown()
    }

    @Test("the client transport's handler runs at the same stack depth for the first and the 1,500th message")
    func clientTransport() async throws {
        let context = try ZMQContext()
        let reactor = try ZMQReactor(context: context, name: "depth-cli")
        let raw = try ZMQReactor(context: context, name: "depth-raw")
        let endpoint = "inproc://depth-\(UInt64.random(in: 0...UInt64.max))"
        // A ROUTER that answers the first message it gets with `events` messages.
        try await raw.run { registry in
            let router = try ZMQSocket(registry.context, type: .router)
            try router.bind(endpoint)
            registry.register(router) { socket in
                while let frames = try? socket.receive(blocking: false) {
                    for i in 0..<Self.events { _ = try? socket.send([frames[0], [UInt8(i & 0xFF)]]) }
                }
            }
        }
        let transport = RPCZMQClientTransport(reactor: reactor, endpoint: endpoint)
        let depths = Mutex<[UInt]>([])
        try await transport.connect { event in
            guard case .received = event else { return }
            let depth = Self.stackDepthMarker()
            depths.withLock { $0.append(depth) }
        }
        // The first message tells the ROUTER this client's routing id (tried again until a connection takes it).
        let sent = Inbox<RPCSendResult>()
        var result = RPCSendResult.wouldBlock
        for _ in 0..<1_000 where result != .sent {
            transport.send([[1]]) { sent.put($0) }
            result = try await sent.next()
            if result != .sent { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(result == .sent)
        try await eventually("\(Self.events) messages") { depths.withLock { $0.count } == Self.events }
        let seen = depths.withLock { $0 }
        let spread = seen.max()! - seen.min()!
        #expect(spread < 8_192, "the handler's stack moved by \(spread) bytes over \(Self.events) events")
        await transport.close()
        await raw.shutdown()
        await reactor.shutdown()
    }
}
