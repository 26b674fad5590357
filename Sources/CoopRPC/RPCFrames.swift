import CoopWire

/// The head of a call: what a `RequestHeader` says, checked.
public struct RPCRequestHead: Sendable, Hashable {
    /// Chosen by the client, unique among its calls in flight, never 0.
    public var callID: UInt64
    /// Full method name, `/coop.v1.Ledger/UpdateStatus`.
    public var method: String
    /// Remaining budget in microseconds; `nil`: no deadline.
    public var timeoutMicroseconds: UInt64?
    public var metadata: RPCMetadata
    /// Server streams: messages the server may send before it needs more credit (`nil`: the server's default).
    public var credit: UInt32?
    /// Server streams: the most stream messages the client takes in one server message (`nil`: one per message;
    /// docs/PROTOCOL.md, "Batches").
    public var batch: UInt32?
    /// Server streams with a ``batch``: the client takes a batch packed in one frame (docs/PROTOCOL.md, "Packed
    /// batches").
    public var packed: Bool

    public init(
        callID: UInt64,
        method: String,
        timeoutMicroseconds: UInt64? = nil,
        metadata: RPCMetadata = RPCMetadata(),
        credit: UInt32? = nil,
        batch: UInt32? = nil,
        packed: Bool = false
    ) {
        self.callID = callID
        self.method = method
        self.timeoutMicroseconds = timeoutMicroseconds
        self.metadata = metadata
        self.credit = credit
        self.batch = batch
        self.packed = packed
    }
}

/// A message from a client, decoded from its frames.
public enum RPCClientMessage: Sendable, Hashable {
    /// A new call with its encoded request.
    case request(RPCRequestHead, body: [UInt8])
    /// More credit for a server stream.
    case credit(callID: UInt64, credit: UInt32)
    /// Cancel a call in flight.
    case cancel(callID: UInt64)
}

/// A message from a server: a response message, or the end of a call with its status, or both in one.
public struct RPCServerMessage: Sendable, Hashable {
    public var callID: UInt64
    /// Response metadata (first message) or trailing metadata (last).
    public var metadata: RPCMetadata
    /// An encoded response message, if this carries one.
    public var body: [UInt8]?
    /// Server streams: the stream messages that follow ``body`` in the same server message (a batch, one frame
    /// each; only with a `body`, no metadata and no status, and only to a client that asked for batches).
    public var batched: [[UInt8]]
    /// Set on the last message of a call.
    public var status: RPCStatus?

    public init(
        callID: UInt64,
        metadata: RPCMetadata = RPCMetadata(),
        body: [UInt8]? = nil,
        batched: [[UInt8]] = [],
        status: RPCStatus? = nil
    ) {
        self.callID = callID
        self.metadata = metadata
        self.body = body
        self.batched = batched
        self.status = status
    }

    /// How many stream messages this carries: ``body`` and ``batched``.
    public var messageCount: Int { body == nil ? 0 : 1 + batched.count }
}

/// A frame sequence that is not a valid message, with the call it belongs to when that could be read (0 otherwise).
public struct RPCFrameError: Error, Sendable {
    public var callID: UInt64
    public var error: RPCError
}

/// Encodes and decodes the multipart messages of docs/PROTOCOL.md: `[tag][ClientFrame][request?]` from clients and
/// `[tag][ResponseHeader][response?]` from servers (a ROUTER's routing-id frame comes before them and is the
/// transport's business). Pure functions; thread-safe.
public enum RPCFrames {
    /// Frame 1 of every message: the protocol and its version.
    public static let tag: [UInt8] = Array("coop.rpc/1".utf8)
    /// The prefix every version of the tag shares.
    static let tagPrefix: [UInt8] = Array("coop.rpc/".utf8)
    /// Largest header frame accepted (16 KiB): metadata is small; a larger header is refused unread.
    public static let maxHeaderBytes = 16 << 10

    // MARK: Client side

    /// The frames of a client message.
    public static func encode(_ message: RPCClientMessage) -> [[UInt8]] {
        switch message {
        case .request(let head, let body):
            let header = RequestHeader(
                callId: head.callID,
                method: head.method,
                timeoutUs: head.timeoutMicroseconds ?? 0,
                metadata: head.metadata.wire,
                credit: head.credit ?? 0,
                batch: head.batch ?? 0,
                packed: head.packed
            )
            return [tag, ClientFrame(kind: .request(header)).wireBytes(), body]
        case .credit(let callID, let credit):
            return [tag, ClientFrame(kind: .credit(StreamCredit(callId: callID, credit: credit))).wireBytes()]
        case .cancel(let callID):
            return [tag, ClientFrame(kind: .cancel(CancelCall(callId: callID))).wireBytes()]
        }
    }

    /// Decodes a client message; throws an ``RPCFrameError`` whose status says exactly what is wrong.
    public static func decodeClient(_ frames: [[UInt8]]) throws(RPCFrameError) -> RPCClientMessage {
        try checkTag(frames)
        guard frames.count == 2 || frames.count == 3 else {
            throw fail(
                0,
                .invalidArgument,
                RPCReason.malformedFrame,
                "a client message has 2 or 3 frames, not \(frames.count)"
            )
        }
        guard frames[1].count <= maxHeaderBytes else {
            throw fail(
                0,
                .resourceExhausted,
                RPCReason.messageTooLarge,
                "the header frame is \(frames[1].count) bytes; the limit is \(maxHeaderBytes)"
            )
        }
        let frame: ClientFrame
        do {
            frame = try ClientFrame(wireBytes: frames[1])
        } catch {
            throw fail(0, .invalidArgument, RPCReason.malformedFrame, "the header frame is not a ClientFrame: \(error)")
        }
        switch frame.kind {
        case .request(let header):
            guard header.callId != 0 else {
                throw fail(0, .invalidArgument, RPCReason.malformedFrame, "call id 0 is reserved")
            }
            guard frames.count == 3 else {
                throw fail(
                    header.callId,
                    .invalidArgument,
                    RPCReason.malformedFrame,
                    "a request has a third frame with its message"
                )
            }
            let metadata: RPCMetadata
            do {
                metadata = try RPCMetadata(wire: header.metadata)
            } catch {
                throw RPCFrameError(callID: header.callId, error: error)
            }
            let head = RPCRequestHead(
                callID: header.callId,
                method: header.method,
                timeoutMicroseconds: header.timeoutUs == 0 ? nil : header.timeoutUs,
                metadata: metadata,
                credit: header.credit == 0 ? nil : header.credit,
                batch: header.batch <= 1 ? nil : header.batch,
                packed: header.batch > 1 && header.packed
            )
            return .request(head, body: frames[2])
        case .credit(let credit):
            guard frames.count == 2 else {
                throw fail(
                    credit.callId,
                    .invalidArgument,
                    RPCReason.malformedFrame,
                    "a credit message has no third frame"
                )
            }
            return .credit(callID: credit.callId, credit: credit.credit)
        case .cancel(let cancel):
            guard frames.count == 2 else {
                throw fail(
                    cancel.callId,
                    .invalidArgument,
                    RPCReason.malformedFrame,
                    "a cancel message has no third frame"
                )
            }
            return .cancel(callID: cancel.callId)
        case nil:
            throw fail(
                0,
                .invalidArgument,
                RPCReason.malformedFrame,
                "the ClientFrame holds no request, credit or cancel"
            )
        }
    }

    // MARK: Server side

    /// The frames of a server message.
    public static func encode(_ message: RPCServerMessage) -> [[UInt8]] {
        let header = ResponseHeader(
            callId: message.callID,
            metadata: message.metadata.wire,
            endOfStream: message.status != nil,
            status: message.status?.wire
        )
        var frames = [tag, header.wireBytes()]
        if let body = message.body {
            frames.append(body)
            frames.append(contentsOf: message.batched)
        }
        return frames
    }

    /// The frames of a batch of stream messages of one call (`bodies` not empty): `[tag][header][body]…`, with the
    /// header frame `dataHeader` (a `ResponseHeader` holding only the call id, encoded once per stream); or, when
    /// `packed` and there are two or more, `[tag][header][packed]`: the header holds the call id and the count
    /// (`ResponseHeader.packed`), frame 3 each body preceded by its length as a varint (docs/PROTOCOL.md, "Packed
    /// batches").
    static func encodeBatch(
        callID: UInt64,
        dataHeader: [UInt8],
        _ bodies: some Collection<[UInt8]>,
        packed: Bool
    ) -> [[UInt8]] {
        if packed && bodies.count >= 2 {
            return [tag, packedHeader(callID: callID, count: bodies.count), pack(bodies)]
        }
        var frames: [[UInt8]] = []
        frames.reserveCapacity(2 + bodies.count)
        frames.append(tag)
        frames.append(dataHeader)
        frames.append(contentsOf: bodies)
        return frames
    }

    /// Decodes a server message (a client reads these).
    public static func decodeServer(_ frames: [[UInt8]]) throws(RPCFrameError) -> RPCServerMessage {
        // Most messages of a stream carry a header with the call id alone, or the call id and a packed count: read
        // it without protobuf-c. Only these may carry a batch (more than one message frame, or a packed one).
        if frames.count >= 2, frames[0] == tag, let (callID, packed) = dataHeader(frames[1]) {
            if packed > 0 {
                return try unpack(callID: callID, count: packed, frames: frames)
            }
            return RPCServerMessage(
                callID: callID,
                body: frames.count >= 3 ? frames[2] : nil,
                batched: frames.count > 3 ? Array(frames[3...]) : []
            )
        }
        try checkTag(frames)
        guard frames.count >= 2 else {
            throw fail(
                0,
                .internal,
                RPCReason.malformedFrame,
                "a server message has 2 or 3 frames, not \(frames.count)"
            )
        }
        guard frames[1].count <= maxHeaderBytes else {
            throw fail(
                0,
                .resourceExhausted,
                RPCReason.messageTooLarge,
                "the response header is \(frames[1].count) bytes"
            )
        }
        let header: ResponseHeader
        do {
            header = try ResponseHeader(wireBytes: frames[1])
        } catch {
            throw fail(0, .internal, RPCReason.malformedFrame, "the header frame is not a ResponseHeader: \(error)")
        }
        if header.packed > 0 {
            // A packed batch whose header is valid protobuf but not in the form read above (fields in another
            // order, padded varints, an explicit `end_of_stream` false): the same batch.
            guard header.metadata.isEmpty && !header.endOfStream && header.status == nil else {
                throw fail(
                    header.callId,
                    .internal,
                    RPCReason.malformedFrame,
                    "a packed batch's header holds only call_id and packed; this one holds more"
                )
            }
            return try unpack(callID: header.callId, count: UInt64(header.packed), frames: frames)
        }
        guard frames.count <= 3 else {
            throw fail(
                header.callId,
                .internal,
                RPCReason.malformedFrame,
                "a server message of \(frames.count) frames (a batch) must have a header holding only the call id; "
                    + "this one holds more"
            )
        }
        guard header.endOfStream == (header.status != nil) else {
            throw fail(header.callId, .internal, RPCReason.malformedFrame, "end_of_stream and status disagree")
        }
        let metadata: RPCMetadata
        do {
            metadata = try RPCMetadata(wire: header.metadata)
        } catch {
            throw RPCFrameError(callID: header.callId, error: error)
        }
        return RPCServerMessage(
            callID: header.callId,
            metadata: metadata,
            body: frames.count == 3 ? frames[2] : nil,
            status: header.status.map(RPCStatus.init(wire:))
        )
    }

    /// The call id and packed count (0: none) of a `ResponseHeader` that holds nothing but field 1 and optionally
    /// field 5, both canonical varints in that order: what protobuf-c would decode, without it; `nil` for any other
    /// header (then decoded in full).
    static func dataHeader(_ header: [UInt8]) -> (callID: UInt64, packed: UInt64)? {
        guard header.count >= 2, header[0] == 0x08 else { return nil }
        var index = 1
        guard let callID = varint(header, at: &index) else { return nil }
        if index == header.count { return (callID, 0) }
        guard header[index] == 0x28 else { return nil }
        index += 1
        guard let packed = varint(header, at: &index), index == header.count, packed > 0 else { return nil }
        return (callID, packed)
    }

    /// A `ResponseHeader` holding `callID` and `packed = count`, as protobuf-c encodes it.
    static func packedHeader(callID: UInt64, count: Int) -> [UInt8] {
        var header: [UInt8] = [0x08]
        header.reserveCapacity(16)
        appendVarint(callID, to: &header)
        header.append(0x28)
        appendVarint(UInt64(count), to: &header)
        return header
    }

    /// `bodies`, each preceded by its length as a varint, in one frame.
    static func pack(_ bodies: some Collection<[UInt8]>) -> [UInt8] {
        var frame: [UInt8] = []
        frame.reserveCapacity(bodies.reduce(0) { $0 + $1.count + 5 })
        for body in bodies {
            appendVarint(UInt64(body.count), to: &frame)
            frame.append(contentsOf: body)
        }
        return frame
    }

    /// A packed batch (`[tag][header][packed]`) as the message it carries; a frame count, a length or a count that
    /// does not add up is malformed (INTERNAL, for the call it names).
    static func unpack(callID: UInt64, count: UInt64, frames: [[UInt8]]) throws(RPCFrameError) -> RPCServerMessage {
        guard frames.count == 3 else {
            throw fail(
                callID,
                .internal,
                RPCReason.malformedFrame,
                "a packed batch has 3 frames, not \(frames.count)"
            )
        }
        let packed = frames[2]
        guard count <= UInt64(packed.count) else {
            throw fail(
                callID,
                .internal,
                RPCReason.malformedFrame,
                "a packed batch of \(packed.count) bytes cannot hold the \(count) messages its header names"
            )
        }
        var bodies: [[UInt8]] = []
        // Not more up front than a server may put in one batch: a count past it is refused by the call's `batch`.
        bodies.reserveCapacity(min(Int(count), 1024))
        var index = 0
        while index < packed.count {
            guard let length = varint(packed, at: &index, shortest: false), length <= UInt64(packed.count - index)
            else {
                throw fail(
                    callID,
                    .internal,
                    RPCReason.malformedFrame,
                    "message \(bodies.count + 1) of a packed batch has a length that is not a varint or runs past "
                        + "the frame's \(packed.count) bytes"
                )
            }
            bodies.append(Array(packed[index..<(index + Int(length))]))
            index += Int(length)
        }
        guard UInt64(bodies.count) == count else {
            throw fail(
                callID,
                .internal,
                RPCReason.malformedFrame,
                "a packed batch holds \(bodies.count) messages; its header says \(count)"
            )
        }
        return RPCServerMessage(callID: callID, body: bodies[0], batched: Array(bodies.dropFirst()))
    }

    /// A varint at `index` (advanced past it), at most 10 bytes and 64 bits, and with `shortest` in its shortest
    /// form (no padding); `nil` otherwise.
    static func varint(_ bytes: [UInt8], at index: inout Int, shortest: Bool = true) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if shift == 63 && byte > 1 { return nil }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                // A last byte of 0 after others is padding.
                return shortest && byte == 0 && shift > 0 ? nil : value
            }
            shift += 7
            if shift > 63 { return nil }
        }
        return nil
    }

    static func appendVarint(_ value: UInt64, to bytes: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    private static func checkTag(_ frames: [[UInt8]]) throws(RPCFrameError) {
        guard let first = frames.first else {
            throw fail(0, .invalidArgument, RPCReason.malformedFrame, "an empty message")
        }
        guard first == tag else {
            let version =
                first.starts(with: tagPrefix)
                ? "version \(String(decoding: first.dropFirst(tagPrefix.count), as: UTF8.self).prefix(20))"
                : "not this protocol"
            throw fail(
                0,
                .unimplemented,
                RPCReason.protocolVersion,
                "the first frame is \(version); this server speaks \(String(decoding: tag, as: UTF8.self))"
            )
        }
    }

    private static func fail(
        _ callID: UInt64,
        _ code: RPCStatus.Code,
        _ reason: String,
        _ message: String
    ) -> RPCFrameError {
        RPCFrameError(callID: callID, error: RPCError(code: code, message: message, reason: reason))
    }
}
