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
        var hasher = SHA256()
        hasher.update(data: previous)
        switch content {
        case .entry(_, let id):
            hasher.update(data: [0x01])
            hasher.update(data: id.bytes)
        case .evidence(let evidence):
            hasher.update(data: [0x02])
            hasher.update(data: evidenceID(evidence).bytes)
        }
        return Array(hasher.finalize())
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

    /// Decodes a record payload; throws ``LogError/Code/corrupt`` with `at` in the message when it is not one.
    public static func decode(
        _ payload: UnsafeRawBufferPointer,
        at: @autoclosure () -> String
    ) throws -> DecodedRecord {
        let record: CoopWire.LogRecord
        do {
            record = try CoopWire.LogRecord(wireBytes: payload)
        } catch let error as WireError {
            throw LogError(code: .corrupt, message: "\(at()): not a log record: \(error.message)", cause: error)
        }
        guard record.chain.count == 32 else {
            throw LogError(code: .corrupt, message: "\(at()): the record's chain value is not 32 bytes")
        }
        switch record.record {
        case .entry(let bytes):
            return DecodedRecord(content: .entry(bytes: bytes, id: EntryID(digestOf: bytes)), chain: record.chain)
        case .evidence(let evidence):
            return DecodedRecord(content: .evidence(evidence), chain: record.chain)
        case nil:
            throw LogError(code: .corrupt, message: "\(at()): the record holds neither an entry nor evidence")
        }
    }

    /// Decodes a record and, for an entry, its body (what readers of the log usually need). Runs on any thread.
    static func decodeWithBody(
        _ payload: UnsafeRawBufferPointer,
        at: @autoclosure () -> String
    ) throws -> (record: DecodedRecord, body: EntryBody?) {
        let record = try decode(payload, at: at())
        guard case .entry(let bytes, _) = record.content else { return (record, nil) }
        do {
            return (record, try EntryBody(wireBytes: try SignedEntry(wireBytes: bytes).body))
        } catch {
            throw LogError(code: .corrupt, message: "\(at()): the entry does not decode: \(error)")
        }
    }

    /// The evidence among the records `read` delivers before record `end`, by origin and sequence number. A
    /// record's first payload byte tells its kind (0x12: evidence), so entries are not decoded.
    static func evidence(
        before end: UInt64 = .max,
        read: ((RecordPosition, UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws -> [OriginSequenceKey: Equivocation] {
        struct Done: Error {}
        var evidence: [OriginSequenceKey: Equivocation] = [:]
        do {
            try read { position, payload in
                if position.index >= end { throw Done() }
                guard payload.first == 0x12 else { return }
                if case .evidence(let e) = try decode(payload, at: "record \(position)").content, let first = e.first,
                    let body = try? EntryBody(wireBytes: first.body)
                {
                    evidence[OriginSequenceKey(origin: body.origin, sequence: body.sequence)] = e
                }
            }
        } catch is Done {}
        return evidence
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
