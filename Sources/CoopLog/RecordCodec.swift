public import CoopLedger
import CoopSegments
public import CoopWire
import Crypto

/// What one log record holds.
public enum RecordContent: Sendable {
    /// An entry: its canonical `SignedEntry` bytes and id.
    case entry(bytes: [UInt8], id: EntryID)
    /// Evidence of an equivocation.
    case evidence(Equivocation)
}

/// The two kinds of log record.
public enum RecordKind: Sendable, Hashable, CustomStringConvertible {
    case entry
    case evidence

    public var description: String {
        switch self {
        case .entry: "entry"
        case .evidence: "evidence"
        }
    }
}

/// A decoded log record: its content and the local chain value after it.
public struct DecodedRecord: Sendable {
    public var content: RecordContent
    public var chain: [UInt8]
}

/// Encodes and decodes `coop.v1.LogRecord` payloads and computes the local log chain
/// (docs/design/0001-log-records.md). Pure functions; thread-safe.
public enum RecordCodec {
    /// The chain value before the first record.
    public static let genesis = [UInt8](repeating: 0, count: 32)

    /// The chain value after a record with `content`, following `previous`.
    public static func chain(after previous: [UInt8], _ content: RecordContent) -> [UInt8] {
        let (tag, id): (UInt8, EntryID) =
            switch content {
            case .entry(_, let id): (0x01, id)
            case .evidence(let evidence): (0x02, evidenceID(evidence))
            }
        guard previous.count == 32 else {
            var hasher = SHA256()
            hasher.update(data: previous)
            withUnsafeBytes(of: tag) { hasher.update(bufferPointer: $0) }
            id.withUnsafeBytes { hasher.update(bufferPointer: $0) }
            return hasher.finalize().withUnsafeBytes { [UInt8]($0) }
        }
        // The 65 bytes hashed, on the stack: one digest call, no allocation but the result.
        var message: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt8) = (
            0, 0, 0, 0, 0, 0, 0, 0, 0
        )
        return withUnsafeMutableBytes(of: &message) { buffer in
            buffer.copyBytes(from: previous)
            buffer[32] = tag
            id.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: buffer[33..<65]).copyMemory(from: $0) }
            return SHA256OneShot.digest(UnsafeRawBufferPointer(rebasing: buffer[0..<65])).bytes
        }
    }

    /// SHA-256 of `bytes` as an entry id (``EntryID/init(digestOf:)``).
    static func entryID(of bytes: [UInt8]) -> EntryID {
        EntryID(digestOf: bytes)
    }

    /// SHA-256 of an equivocation's encoding.
    public static func evidenceID(_ evidence: Equivocation) -> EntryID {
        EntryID(digestOf: evidence.wireBytes())
    }

    /// The record payload for `content` after chain value `previous`, and the new chain value.
    public static func encode(_ content: RecordContent, after previous: [UInt8]) -> (bytes: [UInt8], chain: [UInt8]) {
        let chain = chain(after: previous, content)
        var record = CoopWire.LogRecord(chain: chain)
        switch content {
        case .entry(let bytes, _): record.record = .entry(bytes)
        case .evidence(let evidence): record.record = .evidence(evidence)
        }
        return (record.wireBytes(), chain)
    }

    /// The kind of record a payload holds, read from its first byte (0x0A: entry, 0x12: evidence), or `nil`.
    ///
    /// Every reader tells the kinds apart this way: a canonical record starts with its `entry` or `evidence`
    /// field (docs/LOG-FORMAT.md, "Canonical records"), and ``decode(_:at:)`` refuses any other layout, so the
    /// first byte and a full decode never disagree.
    public static func kind(of payload: UnsafeRawBufferPointer) -> RecordKind? {
        switch payload.first {
        case 0x0A: .entry
        case 0x12: .evidence
        default: nil
        }
    }

    /// Decodes a record payload; throws ``LogError/Code/corrupt`` with `at` in the message when it is not a
    /// record in canonical encoding (the only encoding a node writes; see docs/LOG-FORMAT.md).
    public static func decode(
        _ payload: UnsafeRawBufferPointer,
        at: @autoclosure () -> String
    ) throws -> DecodedRecord {
        try decodeRecord(payload, at: at()).record
    }

    /// Decodes a record and, for an entry, the bytes of its `SignedEntry`'s body and signature (for
    /// ``decodeWithBody(_:at:)`` and the auditor): slices of the entry's bytes, or of the fields protobuf-c decoded
    /// when the layout is not protobuf-c's. Read each slice through its own storage.
    ///
    /// The canonical layout, and the only one accepted: the `entry` (tag 0x0A) or `evidence` (tag 0x12) field,
    /// its length as a shortest varint and its bytes; then the `chain` field (tag 0x1A, length 0x20) and its 32
    /// bytes; nothing else. The entry's bytes must be a canonical `SignedEntry` and the evidence a canonical
    /// `Equivocation` (re-encoding gives the same bytes).
    static func decodeRecord(
        _ payload: UnsafeRawBufferPointer,
        at: @autoclosure () -> String
    ) throws -> (record: DecodedRecord, entry: (body: ArraySlice<UInt8>, signature: ArraySlice<UInt8>)?) {
        func refuse(_ reason: String) -> LogError {
            LogError(code: .corrupt, message: "\(at()): not a canonical log record: \(reason)")
        }
        let (kind, fieldRange) = try layout(payload, at: at())
        let field = UnsafeRawBufferPointer(rebasing: payload[fieldRange])
        let end = fieldRange.upperBound
        let chain = [UInt8](payload[(end + 2)...])
        do {
            switch kind {
            case .entry:
                let bytes = [UInt8](field)
                let parts: (body: ArraySlice<UInt8>, signature: ArraySlice<UInt8>)
                if let (body, signature) = canonicalSignedEntryFields(field) {
                    parts = (bytes[body], bytes[signature])
                } else {
                    // Not in the layout protobuf-c writes: protobuf-c says what is wrong.
                    let signed = try SignedEntry(wireBytes: field)
                    guard signed.wireBytes() == bytes else {
                        throw refuse(
                            "the entry is not a canonical SignedEntry (fields out of order, repeated or unknown)"
                        )
                    }
                    parts = (signed.body[...], signed.signature[...])
                }
                let record = DecodedRecord(content: .entry(bytes: bytes, id: entryID(of: bytes)), chain: chain)
                return (record, parts)
            case .evidence:
                let evidence = try Equivocation(wireBytes: field)
                guard evidence.wireBytes().elementsEqual(field) else {
                    throw refuse("the evidence is not a canonical Equivocation")
                }
                return (DecodedRecord(content: .evidence(evidence), chain: chain), nil)
            }
        } catch let error as WireError {
            throw LogError(
                code: .corrupt,
                message: "\(at()): the record's \(kind) does not decode: \(error.message)",
                cause: error
            )
        }
    }

    /// The kind of a record and where its `entry` or `evidence` field's bytes are, when the record has the canonical
    /// layout (see ``decodeRecord(_:at:)``); throws ``LogError/Code/corrupt`` naming what is wrong otherwise. Checks
    /// the layout only, not the field's content.
    private static func layout(
        _ payload: UnsafeRawBufferPointer,
        at: @autoclosure () -> String
    ) throws -> (kind: RecordKind, field: Range<Int>) {
        func refuse(_ reason: String) -> LogError {
            LogError(code: .corrupt, message: "\(at()): not a canonical log record: \(reason)")
        }
        guard let kind = kind(of: payload) else {
            guard let first = payload.first else { throw refuse("the record is empty") }
            throw refuse(
                "its first byte is 0x\(String(first, radix: 16)), not the entry (0x0a) or evidence (0x12) field"
            )
        }
        guard let (length, start) = canonicalVarint(payload, at: 1) else {
            throw refuse("the length of its \(kind) field is not a shortest varint within the record")
        }
        guard length <= UInt64(payload.count - start), payload.count - start - Int(length) == 34 else {
            throw refuse(
                "after its \(kind) field (\(length) bytes) it must end with the 34-byte chain field; "
                    + "the record is \(payload.count) bytes"
            )
        }
        let end = start + Int(length)
        guard payload[end] == 0x1A, payload[end + 1] == 0x20 else {
            throw refuse("the \(kind) field is not followed by the chain field (tag 0x1a, 32 bytes)")
        }
        return (kind, start..<end)
    }

    /// For a record that holds an entry, the entry's id and body, decoded under exactly the rules of
    /// ``decodeWithBody(_:at:)`` (the same records refused, with the same errors), without copying the entry's bytes
    /// or the chain value out of `payload` (for replay, which needs neither). `nil` for evidence, which is checked
    /// as ``decodeRecord(_:at:)`` checks it. Unless `keepingPrevious`, the body's `previous` is left empty (checked,
    /// not copied).
    static func decodeEntry(
        _ payload: UnsafeRawBufferPointer,
        keepingPrevious: Bool = true,
        at: @autoclosure () -> String
    ) throws -> (id: EntryID, body: EntryBody)? {
        let (kind, fieldRange) = try layout(payload, at: at())
        let field = UnsafeRawBufferPointer(rebasing: payload[fieldRange])
        guard kind == .entry, let (body, _) = canonicalSignedEntryFields(field) else {
            // Evidence, or an entry not in protobuf-c's layout: the full decode says what is wrong, or decodes it.
            let (record, body) = try decodeWithBody(payload, at: at())
            guard case .entry(_, let id) = record.content, var body else { return nil }
            if !keepingPrevious { body.previous = [] }
            return (id, body)
        }
        let id = EntryID(digestOf: field)
        do {
            return (
                id,
                try EntryBody.decode(UnsafeRawBufferPointer(rebasing: field[body]), keepingPrevious: keepingPrevious)
            )
        } catch {
            throw LogError(code: .corrupt, message: "\(at()): the entry does not decode: \(error)")
        }
    }

    /// Where the body and the signature are in `bytes` when they are a `SignedEntry` exactly as protobuf-c encodes
    /// one (the only encoding ``decodeRecord(_:at:)`` accepts): the `body` field (tag 0x0A) if not empty, then the
    /// `signature` field (tag 0x12) if not empty, each length a shortest varint, nothing else. `nil` otherwise (an
    /// absent field is an empty range). Those are exactly the bytes that decode and re-encode to themselves, found
    /// without decoding or re-encoding.
    static func canonicalSignedEntryFields(
        _ bytes: UnsafeRawBufferPointer
    ) -> (body: Range<Int>, signature: Range<Int>)? {
        var i = 0
        func field(_ tag: UInt8) -> Range<Int>?? {
            guard i < bytes.count && bytes[i] == tag else { return .some(nil) }
            guard let (length, start) = canonicalVarint(bytes, at: i + 1), length > 0,
                length <= UInt64(bytes.count - start)
            else { return nil }
            i = start + Int(length)
            return start..<i
        }
        guard let body = field(0x0A) else { return nil }
        let bodyEnd = i
        guard let signature = field(0x12), i == bytes.count else { return nil }
        return (body ?? bodyEnd..<bodyEnd, signature ?? i..<i)
    }

    /// A varint at `offset` in its shortest form (no redundant high zero groups) and the offset after it.
    private static func canonicalVarint(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> (UInt64, Int)? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var i = offset
        while i < bytes.count && shift < 64 {
            let byte = bytes[i]
            value |= UInt64(byte & 0x7F) << shift
            i += 1
            if byte & 0x80 == 0 {
                // A last group of zero after other groups is a longer encoding of a shorter number.
                if byte == 0 && i - offset > 1 { return nil }
                return (value, i)
            }
            shift += 7
        }
        return nil
    }

    /// Decodes a record and, for an entry, its body (what readers of the log usually need). Runs on any thread.
    static func decodeWithBody(
        _ payload: UnsafeRawBufferPointer,
        at: @autoclosure () -> String
    ) throws -> (record: DecodedRecord, body: EntryBody?) {
        let (record, entry) = try decodeRecord(payload, at: at())
        guard let entry else { return (record, nil) }
        do {
            return (record, try EntryBody(wireBytes: entry.body))
        } catch {
            throw LogError(code: .corrupt, message: "\(at()): the entry does not decode: \(error)")
        }
    }

    /// Per origin, the first sequence number it equivocated at: what the view sets aside.
    static func setAside(_ evidence: [OriginSequenceKey: Equivocation]) -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for key in evidence.keys {
            out[key.origin] = min(out[key.origin] ?? .max, key.sequence)
        }
        return out
    }
}
