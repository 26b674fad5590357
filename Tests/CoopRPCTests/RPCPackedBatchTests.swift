import CoopTestKit
import CoopWire
import Testing

@testable import CoopRPC

/// Packed batches (docs/PROTOCOL.md, "Packed batches"): a request with `packed` gets each batch of two or more stream
/// messages in one frame, `[tag][ResponseHeader{call_id, packed: n}][len‖message…]`; a single message goes as before.
/// The client unpacks them, and ends a call whose packed batch does not add up.
@Suite("RPC stream batches, packed")
struct RPCPackedBatchTests {
    // MARK: Frames

    /// A batch as a stream of call `callID` sends it.
    static func encodeBatch(callID: UInt64, _ bodies: [[UInt8]], packed: Bool) -> [[UInt8]] {
        RPCFrames.encodeBatch(
            callID: callID,
            dataHeader: ResponseHeader(callId: callID).wireBytes(),
            bodies,
            packed: packed
        )
    }

    @Test("the packed header is protobuf-c's encoding of ResponseHeader{call_id, packed}, and reads back")
    func packedHeader() {
        for callID: UInt64 in [1, 127, 128, 300, 1 << 35, .max] {
            for count in [2, 127, 128, 256, 70_000] {
                let header = RPCFrames.packedHeader(callID: callID, count: count)
                #expect(header == ResponseHeader(callId: callID, packed: UInt32(count)).wireBytes())
                #expect(RPCFrames.dataHeader(header)! == (callID, UInt64(count)))
            }
            #expect(RPCFrames.dataHeader(ResponseHeader(callId: callID).wireBytes())! == (callID, 0))
        }
        // Anything else goes to protobuf-c: a padded varint, packed 0, another field, trailing bytes.
        for other: [UInt8] in [
            [0x08, 0x81, 0x00], [0x08, 0x01, 0x28, 0x00], [0x08, 0x01, 0x18, 0x01], [0x08, 0x01, 0x28],
        ] {
            #expect(RPCFrames.dataHeader(other) == nil, "\(other)")
        }
    }

    @Test("random batches round-trip packed: sizes 0 to 300 bytes, 2 to 300 messages", arguments: [11, 12, 13])
    func roundTrip(seed: UInt64) throws {
        var random = SeededRandom(seed: seed)
        for _ in 0..<200 {
            let bodies = (0..<Int.random(in: 2...300, using: &random)).map { _ in
                random.bytes(Int.random(in: 0...300, using: &random))
            }
            let callID = UInt64.random(in: 1...UInt64.max, using: &random)
            let frames = Self.encodeBatch(callID: callID, bodies, packed: true)
            #expect(frames.count == 3)
            let message = try RPCFrames.decodeServer(frames)
            #expect(message.callID == callID && [message.body!] + message.batched == bodies)
        }
        // The same batch under a header in another valid encoding (packed before call_id, a padded varint), and
        // with padded lengths: protobuf-c reads the header, and the batch is the same.
        let reordered: [UInt8] = [0x28, 0x02, 0x08, 0x85, 0x00]
        #expect(RPCFrames.dataHeader(reordered) == nil, "not the fast path")
        let padded = try RPCFrames.decodeServer([RPCFrames.tag, reordered, [0x81, 0x00, 7, 0x01, 8]])
        #expect(padded.callID == 5 && padded.body == [7] && padded.batched == [[8]], "\(padded)")
        // One message is never packed.
        let single = Self.encodeBatch(callID: 5, [[1, 2]], packed: true)
        #expect(single == [RPCFrames.tag, ResponseHeader(callId: 5).wireBytes(), [1, 2]])
    }

    /// A packed batch that does not add up, and what the client must say.
    struct Bad: Sendable, CustomTestStringConvertible {
        var name: String
        var frames: @Sendable (UInt64) -> [[UInt8]]
        var message: String
        var testDescription: String { name }
    }

    static let bad: [Bad] = [
        Bad(
            name: "fewer messages than the header says",
            frames: { [RPCFrames.tag, RPCFrames.packedHeader(callID: $0, count: 3), [1, 7, 1, 8]] },
            message: "a packed batch holds 2 messages; its header says 3"
        ),
        Bad(
            name: "more messages than the header says",
            frames: { [RPCFrames.tag, RPCFrames.packedHeader(callID: $0, count: 2), [1, 7, 1, 8, 0]] },
            message: "a packed batch holds 3 messages; its header says 2"
        ),
        Bad(
            name: "a length past the end of the frame",
            frames: { [RPCFrames.tag, RPCFrames.packedHeader(callID: $0, count: 2), [1, 7, 9, 8]] },
            message: "message 2 of a packed batch has a length that is not a varint or runs past the frame's 4 bytes"
        ),
        Bad(
            name: "a length that is not a varint",
            frames: { [RPCFrames.tag, RPCFrames.packedHeader(callID: $0, count: 2), [1, 7, 0xFF]] },
            message: "message 2 of a packed batch has a length that is not a varint"
        ),
        Bad(
            name: "a count the frame cannot hold",
            frames: { [RPCFrames.tag, RPCFrames.packedHeader(callID: $0, count: 1000), [1, 7]] },
            message: "a packed batch of 2 bytes cannot hold the 1000 messages its header names"
        ),
        Bad(
            name: "a fourth frame",
            frames: { [RPCFrames.tag, RPCFrames.packedHeader(callID: $0, count: 2), [1, 7, 1, 8], [9]] },
            message: "a packed batch has 3 frames, not 4"
        ),
        Bad(
            name: "no third frame",
            frames: { [RPCFrames.tag, RPCFrames.packedHeader(callID: $0, count: 2)] },
            message: "a packed batch has 3 frames, not 2"
        ),
        Bad(
            name: "a header with metadata besides packed",
            frames: {
                [
                    RPCFrames.tag,
                    ResponseHeader(callId: $0, metadata: [MetadataEntry(key: "k", value: "v")], packed: 2).wireBytes(),
                    [1, 7, 1, 8],
                ]
            },
            message: "a packed batch's header holds only call_id and packed; this one holds more"
        ),
        Bad(
            name: "more messages than the client takes at a time",
            frames: {
                let count = Int(RPCClient.streamBatch) + 1
                return [
                    RPCFrames.tag, RPCFrames.packedHeader(callID: $0, count: count),
                    [UInt8]((0..<count).flatMap { _ in [1, 7] as [UInt8] }),
                ]
            },
            message: "at most \(RPCClient.streamBatch) at a time"
        ),
    ]

    // MARK: The client's side

    @Test(
        "the client asks for packed batches and takes them as its messages, in order",
        arguments: RPCTransportKind.allCases
    )
    func clientTakesPackedBatches(_ kind: RPCTransportKind) async throws {
        try await RPCRawServer.with(kind) { raw, client in
            let stream = try client.serverStream("/t.S/Batch", [], timeout: patient, credit: 16)
            guard let (peer, head, _) = try await RPCStreamCreditTests.nextRequest(raw) else { return }
            #expect(head.batch == RPCClient.streamBatch && head.packed)
            let id = head.callID
            try await raw.send(frames: Self.encodeBatch(callID: id, [[0], [], [2, 2]], packed: true), to: peer)
            try await raw.send(RPCServerMessage(callID: id, body: [3]), to: peer)
            try await raw.send(frames: Self.encodeBatch(callID: id, [[4], [5]], packed: true), to: peer)
            try await raw.send(RPCServerMessage(callID: id, status: .ok), to: peer)
            var received: [[UInt8]] = []
            for try await message in stream { received.append(message) }
            #expect(received == [[0], [], [2, 2], [3], [4], [5]])
        }
    }

    @Test("a client that asks for no packing says so")
    func clientWithoutPacking() async throws {
        try await RPCRawServer.with(.inMemory) { raw, client in
            let stream = try client.serverStream(
                "/t.S/Batch",
                [],
                options: RPCCallOptions(timeout: patient, packed: false)
            )
            guard let (peer, head, _) = try await RPCStreamCreditTests.nextRequest(raw) else { return }
            #expect(head.batch == RPCClient.streamBatch && !head.packed)
            try await raw.send(RPCServerMessage(callID: head.callID, status: .ok), to: peer)
            for try await _ in stream {}
        }
    }

    @Test(
        "a packed batch that does not add up: INTERNAL (MALFORMED_FRAME) naming why, nothing of it delivered, a cancel",
        arguments: bad
    )
    func malformedPackedBatch(_ bad: Bad) async throws {
        try await RPCRawServer.with(.tcp) { raw, client in
            let stream = try client.serverStream("/t.S/Batch", [], timeout: patient, credit: 1000)
            guard let (peer, head, _) = try await RPCStreamCreditTests.nextRequest(raw) else { return }
            try await raw.send(RPCServerMessage(callID: head.callID, body: [0]), to: peer)
            try await raw.send(frames: bad.frames(head.callID), to: peer)
            var received: [[UInt8]] = []
            do {
                for try await message in stream { received.append(message) }
                Issue.record("the stream ended OK after \(received.count) messages")
            } catch let error as RPCError {
                #expect(error.code == .internal && error.reason == RPCReason.malformedFrame, "\(error)")
                #expect(error.message.contains(bad.message), "\(error)")
            }
            #expect(received == [[0]])
            let (_, cancel) = try await raw.next()
            #expect(cancel == .cancel(callID: head.callID))
            #expect(client.callsInFlight == 0)
        }
    }

    // MARK: The server's side

    @Test(
        "asked for packed batches of 4: 500 messages in order, at most 4 in a server message, then OK",
        arguments: RPCTransportKind.allCases
    )
    func serverPacks(_ kind: RPCTransportKind) async throws {
        let methods = methods(streams: ["/t.S/Numbers": RPCStreamBatchTests.numbered(500)])
        try await withRPCServer(kind, methods: methods) { fixture in
            let raw = try await fixture.makeRawPeer()
            try await raw.send(RawFrames.request(7, "/t.S/Numbers", credit: 1000, batch: 4, packed: true))
            var messages: [[[UInt8]]] = []
            while true {
                let frames = try await raw.nextFrames()
                #expect(frames.count <= 3, "packed or single: never more than 3 frames")
                let message = try RPCFrames.decodeServer(frames)
                if let body = message.body {
                    let count = 1 + message.batched.count
                    let header = ResponseHeader(callId: 7, packed: count > 1 ? UInt32(count) : 0).wireBytes()
                    #expect(frames[1] == header, "\(count) messages")
                    messages.append([body] + message.batched)
                }
                if let status = message.status {
                    #expect(status == .ok)
                    break
                }
            }
            #expect(Array(messages.joined()) == (0..<500).map { RPCStreamBatchTests.body($0) })
            #expect(messages.allSatisfy { (1...4).contains($0.count) }, "\(messages.map(\.count))")
            await raw.close()
        }
    }

    @Test(
        "what the handler sends while the transport is busy goes packed (at most the request's batch, 64 KiB)",
        arguments: [
            RPCStreamBatchTests.Held(count: 10, batch: 64, size: 2, expected: [10]),
            RPCStreamBatchTests.Held(count: 10, batch: 4, size: 2, expected: [4, 4, 2]),
            RPCStreamBatchTests.Held(count: 5, batch: 64, size: 16 << 10, expected: [4, 1]),
        ]
    )
    func heldPackedBatches(_ held: RPCStreamBatchTests.Held) async throws {
        let done = Flag()
        let gate = Inbox<Bool>()
        let handler = RPCStreamBatchTests.numbered(held.count, size: held.size, done: done, gate: gate)
        try await RPCStreamBatchTests.withHeldServer(methods(streams: ["/t.S/Numbers": handler])) {
            transport,
            server,
            raw in
            try await raw.send(RawFrames.request(9, "/t.S/Numbers", credit: 1000, batch: held.batch, packed: true))
            try await eventually("the handler to send all") { done.isSet && transport.held == 1 }
            transport.releaseAll()
            var messages: [[[UInt8]]] = []
            while messages.joined().count < held.count {
                let frames = try await raw.nextFrames()
                let message = try RPCFrames.decodeServer(frames)
                guard let body = message.body else { continue }
                let all = [body] + message.batched
                #expect(frames.count == 3)
                #expect(
                    frames[1] == ResponseHeader(callId: 9, packed: all.count > 1 ? UInt32(all.count) : 0).wireBytes()
                )
                messages.append(all)
            }
            #expect(messages.map(\.count) == held.expected)
            #expect(Array(messages.joined()) == (0..<held.count).map { RPCStreamBatchTests.body($0, size: held.size) })
            gate.put(true)
            try await eventually("the call to leave the table") { server.callsInFlight == 0 }
        }
    }

    @Test("a handler runs at most 256 KiB ahead of its socket: the third 100 KiB message waits for room")
    func unsentBytesBound() async throws {
        let sent = Counter()
        let handler: RPCServerStreamHandler = { _, writer in
            for i in 0..<5 {
                try await writer.send(RPCStreamBatchTests.body(i, size: 100 << 10))
                sent.increment()
            }
            return RPCMetadata()
        }
        try await RPCStreamBatchTests.withHeldServer(methods(streams: ["/t.S/Big": handler])) { transport, _, raw in
            try await raw.send(RawFrames.request(9, "/t.S/Big", credit: 1000, batch: 64, packed: true))
            // The first message's turn is held: 100, 200, then 300 KiB unsent, and the third send waits.
            try await eventually("two sends to return, the first turn held") { sent.value >= 2 && transport.held == 1 }
            try await Task.sleep(for: .milliseconds(100))
            #expect(sent.value == 2, "a send returned with more than 256 KiB unsent")
            let releaser = Task {
                while !Task.isCancelled {
                    transport.releaseAll()
                    try? await Task.sleep(for: .milliseconds(1))
                }
            }
            defer { releaser.cancel() }
            var bodies: [[UInt8]] = []
            while true {
                let message = try await raw.next(skippingProbes: true)
                if let body = message.body { bodies += [body] + message.batched }
                if let status = message.status {
                    #expect(status == .ok)
                    break
                }
            }
            #expect(bodies == (0..<5).map { RPCStreamBatchTests.body($0, size: 100 << 10) })
            #expect(sent.value == 5)
        }
    }
}
