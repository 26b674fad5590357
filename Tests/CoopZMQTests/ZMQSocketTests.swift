import CoopZMQ
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The socket wrapper on real libzmq sockets, inproc and tcp on 127.0.0.1 port 0. Each test is synchronous, so its
/// sockets stay on the test's thread.
@Suite("ZMQ sockets")
struct ZMQSocketTests {
    @Test("PAIR over inproc: multipart messages arrive whole, empty frames included")
    func inprocPair() throws {
        let context = try ZMQContext()
        let a = try ZMQSocket(context, type: .pair)
        let b = try ZMQSocket(context, type: .pair)
        try a.bind("inproc://pair-\(UInt64.random(in: 0...UInt64.max))")
        try b.connect(try a.string(.lastEndpoint))
        try b.send([[1, 2, 3], [], Array("frame three".utf8)])
        #expect(try a.receive() == [[1, 2, 3], [], Array("frame three".utf8)])
        #expect(try a.receive(blocking: false) == nil)
    }

    @Test("DEALER/ROUTER over tcp on 127.0.0.1 port 0: the bound port is read back; the router sees the routing id")
    func tcpDealerRouter() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context, type: .router)
        try router.set(.routerMandatory, 1)
        let endpoint = try router.bind("tcp://127.0.0.1:0")
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:") && !endpoint.hasSuffix(":0"))
        let dealer = try ZMQSocket(context, type: .dealer)
        try dealer.set(.routingID, Array("client-1".utf8))
        try dealer.connect(endpoint)
        try dealer.send([Array("hello".utf8)])
        let request = try #require(try router.receive())
        #expect(request == [Array("client-1".utf8), Array("hello".utf8)])
        try router.send([request[0], Array("world".utf8)])
        #expect(try dealer.receive() == [Array("world".utf8)])
        // Routing to an identity nobody has is an error with routerMandatory, not a silent drop.
        let error = #expect(throws: ZMQError.self) { try router.send([Array("nobody".utf8), [1]]) }
        #expect(error?.code == .hostUnreachable)
        #expect(error?.errno == EHOSTUNREACH)
    }

    @Test("errors name the call, the subject and libzmq's text, with errno")
    func errors() throws {
        let context = try ZMQContext()
        let socket = try ZMQSocket(context, type: .router)
        let bad = #expect(throws: ZMQError.self) { try socket.bind("tcp://no-such-interface-xyz:1") }
        #expect(bad?.call == "zmq_bind")
        #expect(bad?.message.contains("tcp://no-such-interface-xyz:1") == true, "\(String(describing: bad))")
        #expect(bad?.errno != nil)
        let endpoint = try socket.bind("tcp://127.0.0.1:0")
        let other = try ZMQSocket(context, type: .router)
        let inUse = #expect(throws: ZMQError.self) { try other.bind(endpoint) }
        #expect(inUse?.code == .addressInUse, "\(String(describing: inUse))")
        let unknown = #expect(throws: ZMQError.self) { try other.bind("carrier-pigeon://x") }
        #expect(unknown?.code == .protocolNotSupported, "\(String(describing: unknown))")
        let key = #expect(throws: ZMQError.self) { try other.set(.curveServerKey, [1, 2, 3]) }
        #expect(key?.code == .invalidArgument)
        #expect(key?.message.contains("ZMQ_CURVE_SERVERKEY") == true, "\(String(describing: key))")
        socket.close()
        let closed = #expect(throws: ZMQError.self) { try socket.send([[1]]) }
        #expect(closed?.code == .closed)
    }

    @Test("a message over the receive limit is refused whole and the socket goes on")
    func tooLarge() throws {
        let context = try ZMQContext()
        let a = try ZMQSocket(context, type: .pair)
        let b = try ZMQSocket(context, type: .pair)
        try a.bind("inproc://large-\(UInt64.random(in: 0...UInt64.max))")
        try b.connect(try a.string(.lastEndpoint))
        try b.send([[UInt8](repeating: 7, count: 600), [UInt8](repeating: 8, count: 600)])
        try b.send([[1, 2]])
        let error = #expect(throws: ZMQError.self) { try a.receive(maxBytes: 1000) }
        #expect(error?.code == .messageTooLarge)
        #expect(error?.message.contains("1200 bytes") == true)
        #expect(try a.receive(maxBytes: 1000) == [[1, 2]])
    }

    @Test("a malloc'd buffer is handed to libzmq without a copy and freed by it")
    func zeroCopySend() throws {
        let context = try ZMQContext()
        let a = try ZMQSocket(context, type: .pair)
        let b = try ZMQSocket(context, type: .pair)
        try a.bind("inproc://zero-copy-\(UInt64.random(in: 0...UInt64.max))")
        try b.connect(try a.string(.lastEndpoint))
        for round in 0..<100 {
            let buffer = UnsafeMutableRawBufferPointer(start: malloc(4096), count: 4096)
            buffer.initializeMemory(as: UInt8.self, repeating: UInt8(round))
            try b.send(taking: buffer, more: true)
            try b.send([[UInt8(round)]])
            let frames = try #require(try a.receive())
            #expect(frames.count == 2 && frames[0] == [UInt8](repeating: UInt8(round), count: 4096))
        }
    }

    @Test("monitor events are typed: listening, accepted, connected, disconnected")
    func monitorEvents() throws {
        let context = try ZMQContext()
        let router = try ZMQSocket(context, type: .router)
        let serverEvents = try router.makeMonitor(name: "router-\(UInt64.random(in: 0...UInt64.max))")
        try serverEvents.set(.receiveTimeout, 30_000)
        let endpoint = try router.bind("tcp://127.0.0.1:0")
        let dealer = try ZMQSocket(context, type: .dealer)
        let clientEvents = try dealer.makeMonitor(name: "dealer-\(UInt64.random(in: 0...UInt64.max))")
        try clientEvents.set(.receiveTimeout, 30_000)
        try dealer.connect(endpoint)
        try dealer.send([[1]])
        _ = try router.receive()
        func next(_ monitor: ZMQSocket, until kind: ZMQMonitorEvent.Kind) throws -> ZMQMonitorEvent? {
            for _ in 0..<20 {
                guard let frames = try monitor.receive(), let event = ZMQMonitorEvent(frames: frames) else {
                    return nil
                }
                if event.kind == kind { return event }
            }
            return nil
        }
        #expect(try next(serverEvents, until: .listening)?.endpoint == endpoint)
        #expect(try next(serverEvents, until: .accepted) != nil)
        #expect(try next(clientEvents, until: .connected)?.endpoint == endpoint)
        router.close()
        #expect(try next(clientEvents, until: .disconnected)?.endpoint == endpoint)
    }
}
