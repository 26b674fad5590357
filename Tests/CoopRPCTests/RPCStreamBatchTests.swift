import CoopRPC
import Synchronization
import Testing

/// Batches of stream messages (docs/PROTOCOL.md, "Batches"). The server: never more in one server message than the
/// request's `batch` (one each when it asks for none), every message in order, the status after the last, and a
/// batch of what the handler sent while a message was on its way (made certain by a transport whose next turn waits
/// for the test). The client: takes a batch as its messages, counts each against the credit, and ends a call whose
/// server sends more in one than it asked for.
@Suite("RPC stream batches")
struct RPCStreamBatchTests {
    /// Stream message `i` of `size` bytes: its number in the first two bytes.
    static func body(_ i: Int, size: Int = 2) -> [UInt8] {
        [UInt8(i >> 8), UInt8(i & 0xFF)] + [UInt8](repeating: 0x5A, count: max(0, size - 2))
    }

    /// A handler that sends `count` numbered messages as fast as its credit allows, then sets `done` and, given a
    /// `gate`, waits for a value there before it returns.
    static func numbered(
        _ count: Int,
        size: Int = 2,
        done: Flag? = nil,
        gate: Inbox<Bool>? = nil
    ) -> RPCServerStreamHandler {
        { _, writer in
            for i in 0..<count { try await writer.send(body(i, size: size)) }
            done?.set()
            if let gate { _ = try await gate.next(limit: patient, "the test to let the handler return") }
            return RPCMetadata()
        }
    }

    /// The server messages of call `callID` up to its status: each one's stream messages, and the status.
    static func readStream(_ raw: RPCRawPeer, callID: UInt64) async throws -> (messages: [[[UInt8]]], end: RPCStatus) {
        var messages: [[[UInt8]]] = []
        while true {
            let message = try await raw.next(skippingProbes: true)
            #expect(message.callID == callID)
            if let body = message.body { messages.append([body] + message.batched) }
            if let status = message.status { return (messages, status) }
        }
    }

    @Test(
        "asked for batches of 4: 500 messages in order, at most 4 in a server message, then OK",
        arguments: RPCTransportKind.allCases
    )
    func batchLimit(_ kind: RPCTransportKind) async throws {
        try await withRPCServer(kind, methods: methods(streams: ["/t.S/Numbers": Self.numbered(500)])) { fixture in
            let raw = try await fixture.makeRawPeer()
            try await raw.send(RawFrames.request(7, "/t.S/Numbers", credit: 1000, batch: 4))
            let (messages, end) = try await Self.readStream(raw, callID: 7)
            #expect(end == .ok)
            #expect(Array(messages.joined()) == (0..<500).map { Self.body($0) })
            #expect(messages.allSatisfy { (1...4).contains($0.count) }, "\(messages.map(\.count))")
            await raw.close()
        }
    }

    @Test(
        "a client that asks for no batches gets one message per server message",
        arguments: RPCTransportKind.allCases
    )
    func noBatches(_ kind: RPCTransportKind) async throws {
        try await withRPCServer(kind, methods: methods(streams: ["/t.S/Numbers": Self.numbered(300)])) { fixture in
            let raw = try await fixture.makeRawPeer()
            try await raw.send(RawFrames.request(8, "/t.S/Numbers", credit: 1000))
            let (messages, end) = try await Self.readStream(raw, callID: 8)
            #expect(end == .ok)
            #expect(messages == (0..<300).map { [Self.body($0)] })
            await raw.close()
        }
    }

    /// A server on a ``HeldServerTransport`` and a raw peer connected to it.
    static func withHeldServer(
        _ methods: [String: RPCMethod],
        _ body: (HeldServerTransport, RPCServer, RPCRawPeer) async throws -> Void
    ) async throws {
        let network = RPCInMemoryNetwork()
        let transport = HeldServerTransport(RPCInMemoryServerTransport(network: network, address: "held"))
        let server = RPCServer(transport: transport, methods: methods)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.run() }
            let address = try await server.boundEndpoint()
            let raw = try await RPCRawPeer.connect(RPCInMemoryClientTransport(network: network, address: address))
            do {
                try await body(transport, server, raw)
            } catch {
                transport.releaseAll()
                await raw.close()
                group.cancelAll()
                throw error
            }
            transport.releaseAll()
            await raw.close()
            group.cancelAll()
            try await group.waitForAll()
        }
    }

    /// A stream sent while the transport is busy: `count` messages of `size` bytes, the request's `batch`, and the
    /// sizes of the server messages expected.
    struct Held: Sendable, CustomTestStringConvertible {
        var count: Int
        var batch: UInt32
        var size: Int
        var expected: [Int]
        var testDescription: String { "\(count) × \(size) B, batch \(batch): \(expected)" }
    }

    @Test(
        "what the handler sends while the transport is busy goes in batches (at most the request's batch, 64 KiB)",
        arguments: [
            Held(count: 10, batch: 64, size: 2, expected: [10]),
            Held(count: 10, batch: 4, size: 2, expected: [4, 4, 2]),
            Held(count: 3, batch: 64, size: 40 << 10, expected: [1, 1, 1]),
            Held(count: 5, batch: 64, size: 16 << 10, expected: [4, 1]),
        ]
    )
    func heldBatches(_ held: Held) async throws {
        let (count, batch, size, expected) = (held.count, held.batch, held.size, held.expected)
        let done = Flag()
        let gate = Inbox<Bool>()
        let handler = Self.numbered(count, size: size, done: done, gate: gate)
        try await Self.withHeldServer(methods(streams: ["/t.S/Numbers": handler])) { transport, server, raw in
            try await raw.send(RawFrames.request(9, "/t.S/Numbers", credit: 1000, batch: batch))
            // The first message started a turn that waits; the others pile up behind it.
            try await eventually("the handler to send all") { done.isSet && transport.held == 1 }
            #expect(raw.pending == 0, "a message left before the transport's turn")
            transport.releaseAll()
            var messages: [[[UInt8]]] = []
            while messages.joined().count < count {
                let message = try await raw.next(skippingProbes: true)
                #expect(message.callID == 9 && message.status == nil, "\(message)")
                if let body = message.body { messages.append([body] + message.batched) }
            }
            #expect(messages.map(\.count) == expected)
            #expect(Array(messages.joined()) == (0..<count).map { Self.body($0, size: size) })
            gate.put(true)
            let (after, end) = try await Self.readStream(raw, callID: 9)
            #expect(after.isEmpty && end == .ok)
            try await eventually("the call to leave the table") { server.callsInFlight == 0 }
        }
    }

    @Test("a call that ends while its messages wait for the transport's turn sends them and its status at once")
    func endWhileHeld() async throws {
        let done = Flag()
        let streams = ["/t.S/Numbers": Self.numbered(10, done: done), "/t.S/One": Self.numbered(1)]
        try await Self.withHeldServer(methods(streams: streams)) { transport, server, raw in
            try await raw.send(RawFrames.request(9, "/t.S/Numbers", credit: 1000, batch: 4))
            try await eventually("the handler to return") { done.isSet }
            // All of it is with the transport before the call counts as ended (a draining server then closes the
            // transport): the turn that the first message started has not come yet.
            try await eventually("the call to leave the table") { server.callsInFlight == 0 }
            #expect(transport.held == 1)
            let (messages, end) = try await Self.readStream(raw, callID: 9)
            #expect(end == .ok)
            #expect(messages.map(\.count) == [4, 4, 2])
            #expect(Array(messages.joined()) == (0..<10).map { Self.body($0) })
            // The turn, when it comes, finds nothing more to send: the next message is another call's.
            transport.releaseAll()
            try await raw.send(RawFrames.request(10, "/t.S/One", credit: 10))
            let next = try await raw.next(skippingProbes: true)
            #expect(next.callID == 10 && next.body == Self.body(0), "\(next)")
        }
    }

    // MARK: The client's side

    @Test("the client asks for batches and takes one as its messages, in order", arguments: RPCTransportKind.allCases)
    func clientTakesBatches(_ kind: RPCTransportKind) async throws {
        try await RPCRawServer.with(kind) { raw, client in
            let stream = try client.serverStream("/t.S/Batch", [], timeout: patient, credit: 8)
            guard let (peer, head, _) = try await RPCStreamCreditTests.nextRequest(raw) else { return }
            #expect(head.batch == RPCClient.streamBatch)
            try await raw.send(RPCServerMessage(callID: head.callID, body: [0], batched: [[1], [2]]), to: peer)
            try await raw.send(RPCServerMessage(callID: head.callID, body: [3]), to: peer)
            try await raw.send(RPCServerMessage(callID: head.callID, body: [4], batched: [[5], [6], [7]]), to: peer)
            try await raw.send(RPCServerMessage(callID: head.callID, status: .ok), to: peer)
            var received: [[UInt8]] = []
            for try await message in stream { received.append(message) }
            #expect(received == (0..<8).map { [UInt8($0)] })
        }
    }

    @Test(
        "a batch larger than the client asked for: INTERNAL (MALFORMED_FRAME), nothing of it delivered, a cancel",
        arguments: RPCTransportKind.allCases
    )
    func oversizedBatch(_ kind: RPCTransportKind) async throws {
        try await RPCRawServer.with(kind) { raw, client in
            let stream = try client.serverStream("/t.S/Batch", [], timeout: patient, credit: 1000)
            guard let (peer, head, _) = try await RPCStreamCreditTests.nextRequest(raw) else { return }
            let size = Int(RPCClient.streamBatch) + 1
            try await raw.send(RPCServerMessage(callID: head.callID, body: [0]), to: peer)
            try await raw.send(
                RPCServerMessage(
                    callID: head.callID,
                    body: [1],
                    batched: (2...size).map { [UInt8(truncatingIfNeeded: $0)] }
                ),
                to: peer
            )
            var received: [[UInt8]] = []
            do {
                for try await message in stream { received.append(message) }
                Issue.record("the stream ended OK after \(received.count) messages")
            } catch let error as RPCError {
                #expect(error.code == .internal && error.reason == RPCReason.malformedFrame, "\(error)")
                #expect(error.message.contains("\(size) messages of /t.S/Batch"), "\(error)")
                #expect(error.message.contains("at most \(RPCClient.streamBatch) at a time"), "\(error)")
            }
            #expect(received == [[0]])
            let (_, cancel) = try await raw.next()
            #expect(cancel == .cancel(callID: head.callID))
        }
    }

    @Test(
        "a batch across the credit: the messages within it, then INTERNAL (CREDIT_EXCEEDED)",
        arguments: RPCTransportKind.allCases
    )
    func batchAcrossTheCredit(_ kind: RPCTransportKind) async throws {
        try await RPCRawServer.with(kind) { raw, client in
            let stream = try client.serverStream("/t.S/Batch", [], timeout: patient, credit: 4)
            guard let (peer, head, _) = try await RPCStreamCreditTests.nextRequest(raw) else { return }
            try await raw.send(
                RPCServerMessage(callID: head.callID, body: [0], batched: (1..<6).map { [UInt8($0)] }),
                to: peer
            )
            // The call leaves the client's table before the 4 messages within the credit reach the stream.
            try await eventually("the call to end, the messages within the credit kept") {
                client.callsInFlight == 0 && stream.buffered == 4
            }
            var received: [[UInt8]] = []
            do {
                for try await message in stream { received.append(message) }
                Issue.record("the stream ended OK after \(received.count) messages")
            } catch let error as RPCError {
                #expect(error.reason == RPCReason.creditExceeded, "\(error)")
                #expect(error.message.contains("message 5 of stream /t.S/Batch"), "\(error)")
            }
            #expect(received == (0..<4).map { [UInt8($0)] })
        }
    }

    @Test("a unary answer with more than one message: INTERNAL (MALFORMED_FRAME)", arguments: RPCTransportKind.allCases)
    func unaryBatch(_ kind: RPCTransportKind) async throws {
        try await RPCRawServer.with(kind) { raw, client in
            async let answer = client.unary("/t.Echo/Say", [1], timeout: patient)
            guard let (peer, head, _) = try await RPCStreamCreditTests.nextRequest(raw) else { return }
            try await raw.send(RPCServerMessage(callID: head.callID, body: [1], batched: [[2]]), to: peer)
            do {
                let response = try await answer
                Issue.record("the call succeeded: \(response)")
            } catch let error as RPCError {
                #expect(error.code == .internal && error.reason == RPCReason.malformedFrame, "\(error)")
                #expect(error.message.contains("takes one at a time"), "\(error)")
            }
        }
    }
}

/// An in-memory server transport whose next turn (``RPCServerTransport/later(_:)``) waits until the test releases
/// it: what a stream's handler sends meanwhile piles up, as it does behind a busy reactor.
final class HeldServerTransport: RPCServerTransport {
    private let inner: RPCInMemoryServerTransport
    private let waiting = Mutex<[@Sendable () -> Void]>([])

    init(_ inner: RPCInMemoryServerTransport) {
        self.inner = inner
    }

    func listen(_ handler: @escaping @Sendable (RPCServerTransportEvent) -> Void) async throws(RPCError) -> String {
        try await inner.listen(handler)
    }

    func send(_ frames: [[UInt8]], to peer: [UInt8], then completion: (@Sendable (RPCSendResult) -> Void)?) {
        inner.send(frames, to: peer, then: completion)
    }

    func close() async {
        releaseAll()
        await inner.close()
    }

    func later(_ work: @escaping @Sendable () -> Void) {
        waiting.withLock { $0.append(work) }
    }

    /// Turns waiting.
    var held: Int { waiting.withLock { $0.count } }

    /// Runs the turns waiting, and any they start, until none is left.
    func releaseAll() {
        while true {
            let work = waiting.withLock { w in
                defer { w = [] }
                return w
            }
            if work.isEmpty { return }
            for turn in work { turn() }
        }
    }
}
