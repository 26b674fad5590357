import CoopRPC
import CoopWire
import Testing

/// The frame codec of docs/PROTOCOL.md: round trips, and every malformed input answered with its own code, reason
/// and message (issue 7 §5 "Bad input").
@Suite("RPC frames")
struct RPCFramesTests {
    @Test("client messages round-trip: request with metadata, deadline and credit; credit; cancel")
    func clientRoundTrip() throws {
        var metadata = RPCMetadata()
        try metadata.add("x-request-id", "r-17")
        try metadata.add("trace-bin", .binary([0, 1, 2, 255]))
        let messages: [RPCClientMessage] = [
            .request(
                RPCRequestHead(
                    callID: 7,
                    method: "/coop.v1.Ledger/UpdateStatus",
                    timeoutMicroseconds: 250_000,
                    metadata: metadata,
                    credit: 16,
                    batch: 64
                ),
                body: [1, 2, 3]
            ),
            .request(RPCRequestHead(callID: .max, method: "/coop.v1.Health/Check"), body: []),
            .credit(callID: 9, credit: 100),
            .cancel(callID: 9),
        ]
        for message in messages {
            #expect(try RPCFrames.decodeClient(RPCFrames.encode(message)) == message)
        }
    }

    @Test("server messages round-trip: a response, an end with status and trailing metadata")
    func serverRoundTrip() throws {
        var trailers = RPCMetadata()
        try trailers.add("retry-after-ms", "50")
        let messages = [
            RPCServerMessage(callID: 3, body: [9, 9]),
            RPCServerMessage(
                callID: 3,
                metadata: trailers,
                status: RPCStatus(code: .resourceExhausted, message: "busy", reason: RPCReason.overloaded)
            ),
            RPCServerMessage(callID: 4, body: [1], status: .ok),
        ]
        for message in messages {
            #expect(try RPCFrames.decodeServer(RPCFrames.encode(message)) == message)
        }
    }

    @Test("a batch of stream messages round-trips as one frame each; a batch of 0 or 1 is none")
    func batchRoundTrip() throws {
        let batch = RPCServerMessage(callID: 12, body: [1], batched: [[2], [], [3, 3]])
        let frames = RPCFrames.encode(batch)
        #expect(frames.count == 6 && frames[2...] == [[1], [2], [], [3, 3]])
        let decoded = try RPCFrames.decodeServer(frames)
        #expect(decoded == batch && decoded.messageCount == 4)
        #expect(RPCServerMessage(callID: 12).messageCount == 0)
        for asked: UInt32 in [0, 1] {
            let head = RPCRequestHead(callID: 1, method: "/t.S/M", batch: asked)
            guard case .request(let read, _) = try RPCFrames.decodeClient(RPCFrames.encode(.request(head, body: [])))
            else {
                Issue.record("not a request")
                continue
            }
            #expect(read.batch == nil)
        }
    }

    @Test("more than 3 frames under a header that holds more than the call id: malformed, naming the call")
    func batchWithAFullHeader() throws {
        var frames = RPCFrames.encode(RPCServerMessage(callID: 13, body: [1], status: .ok))
        frames.append([2])
        do {
            let message = try RPCFrames.decodeServer(frames)
            Issue.record("decoded: \(message)")
        } catch {
            #expect(error.callID == 13)
            #expect(error.error.code == .internal && error.error.reason == RPCReason.malformedFrame)
            #expect(error.error.message.contains("4 frames (a batch)"), "\(error.error)")
        }
    }

    /// A malformed client message and what the server must answer.
    struct Bad: Sendable, CustomTestStringConvertible {
        var name: String
        var frames: [[UInt8]]
        var code: RPCStatus.Code
        var reason: String
        var callID: UInt64 = 0
        var says: String
        var testDescription: String { name }
    }

    static let request = ClientFrame(kind: .request(RequestHeader(callId: 5, method: "/coop.v1.Health/Check")))
        .wireBytes()

    static let bad: [Bad] = [
        Bad(name: "no frames", frames: [], code: .invalidArgument, reason: RPCReason.malformedFrame, says: "empty"),
        Bad(
            name: "garbage tag",
            frames: [[0xFF, 0x00], request, []],
            code: .unimplemented,
            reason: RPCReason.protocolVersion,
            says: "not this protocol"
        ),
        Bad(
            name: "unknown protocol version",
            frames: [Array("coop.rpc/9".utf8), request, []],
            code: .unimplemented,
            reason: RPCReason.protocolVersion,
            says: "version 9"
        ),
        Bad(
            name: "one frame",
            frames: [RPCFrames.tag],
            code: .invalidArgument,
            reason: RPCReason.malformedFrame,
            says: "2 or 3 frames, not 1"
        ),
        Bad(
            name: "four frames",
            frames: [RPCFrames.tag, request, [], []],
            code: .invalidArgument,
            reason: RPCReason.malformedFrame,
            says: "not 4"
        ),
        Bad(
            name: "oversized header",
            frames: [RPCFrames.tag, [UInt8](repeating: 0x0A, count: RPCFrames.maxHeaderBytes + 1), []],
            code: .resourceExhausted,
            reason: RPCReason.messageTooLarge,
            says: "limit"
        ),
        Bad(
            name: "truncated header",
            frames: [RPCFrames.tag, Array(request.dropLast(3)), []],
            code: .invalidArgument,
            reason: RPCReason.malformedFrame,
            says: "not a ClientFrame"
        ),
        Bad(
            name: "empty ClientFrame",
            frames: [RPCFrames.tag, [], []],
            code: .invalidArgument,
            reason: RPCReason.malformedFrame,
            says: "holds no request"
        ),
        Bad(
            name: "request without its message frame",
            frames: [RPCFrames.tag, request],
            code: .invalidArgument,
            reason: RPCReason.malformedFrame,
            callID: 5,
            says: "third frame"
        ),
        Bad(
            name: "call id 0",
            frames: [
                RPCFrames.tag, ClientFrame(kind: .request(RequestHeader(callId: 0, method: "/x.Y/Z"))).wireBytes(), [],
            ],
            code: .invalidArgument,
            reason: RPCReason.malformedFrame,
            says: "call id 0"
        ),
        Bad(
            name: "credit with a body",
            frames: [RPCFrames.tag, ClientFrame(kind: .credit(StreamCredit(callId: 8, credit: 1))).wireBytes(), [1]],
            code: .invalidArgument,
            reason: RPCReason.malformedFrame,
            callID: 8,
            says: "no third frame"
        ),
        Bad(
            name: "metadata key with upper case",
            frames: [
                RPCFrames.tag,
                ClientFrame(
                    kind: .request(
                        RequestHeader(
                            callId: 6,
                            method: "/x.Y/Z",
                            metadata: [MetadataEntry(key: "Bad-Key", value: "v")]
                        )
                    )
                ).wireBytes(),
                [],
            ],
            code: .invalidArgument,
            reason: RPCReason.malformedFrame,
            callID: 6,
            says: "Bad-Key"
        ),
        Bad(
            name: "binary metadata under a text key",
            frames: [
                RPCFrames.tag,
                ClientFrame(
                    kind: .request(
                        RequestHeader(
                            callId: 6,
                            method: "/x.Y/Z",
                            metadata: [MetadataEntry(key: "k", binaryValue: [1])]
                        )
                    )
                ).wireBytes(),
                [],
            ],
            code: .invalidArgument,
            reason: RPCReason.malformedFrame,
            callID: 6,
            says: "does not end in -bin"
        ),
    ]

    @Test("malformed client messages are refused with their own code, reason and message", arguments: bad)
    func malformed(_ bad: Bad) {
        do {
            let message = try RPCFrames.decodeClient(bad.frames)
            Issue.record("decoded \(message)")
        } catch {
            #expect(error.error.code == bad.code, "\(error.error)")
            #expect(error.error.reason == bad.reason, "\(error.error)")
            #expect(error.callID == bad.callID)
            #expect(error.error.message.contains(bad.says), "\(error.error.message)")
        }
    }

    @Test("status codes carry gRPC's numbers and names; unknown numbers survive")
    func statusCodes() {
        #expect(RPCStatus.Code.deadlineExceeded.rawValue == 4)
        #expect(RPCStatus.Code.unauthenticated.rawValue == 16)
        #expect(RPCStatus.Code.resourceExhausted.description == "RESOURCE_EXHAUSTED")
        #expect(RPCStatus.Code(rawValue: 99).description == "CODE_99")
        let status = RPCStatus(code: .resourceExhausted, message: "too big", reason: RPCReason.messageTooLarge)
        #expect(RPCStatus(wire: status.wire) == status)
        #expect(status.description == "RESOURCE_EXHAUSTED [MESSAGE_TOO_LARGE]: too big")
    }

    @Test(
        "a header with only the call id (read without protobuf-c) decodes as the full decoder does",
        arguments: [1, 127, 128, 300, 1 << 21, UInt64(UInt32.max), UInt64.max - 1, UInt64.max] as [UInt64]
    )
    func bareHeader(_ callID: UInt64) throws {
        for body in [[UInt8]?.none, [], [7, 8, 9]] {
            let message = RPCServerMessage(callID: callID, body: body)
            let frames = RPCFrames.encode(message)
            #expect(try RPCFrames.decodeServer(frames) == message)
        }
        // Anything more than the call id takes the full decoder: metadata, a status, a malformed varint.
        var metadata = RPCMetadata()
        try metadata.add("k", "v")
        let headed = RPCServerMessage(callID: callID, metadata: metadata, body: [1])
        #expect(try RPCFrames.decodeServer(RPCFrames.encode(headed)) == headed)
        let ended = RPCServerMessage(callID: callID, status: .ok)
        #expect(try RPCFrames.decodeServer(RPCFrames.encode(ended)) == ended)
        #expect(throws: RPCFrameError.self) { try RPCFrames.decodeServer([RPCFrames.tag, [0x08, 0x80], [1]]) }
    }
}
