// fuzz-record: decoding log record payloads (`coop.v1.LogRecord`) as the store, the readers and the auditor do.
//
// Input: one record payload. Properties: decoding throws LogError or yields a 32-byte chain value and, for an
// entry, the SHA-256 of the entry bytes as its id; re-encoding the decoded record decodes to the same content
// and chain; the record's kind is the one its first byte announces (docs/LOG-FORMAT.md: 0x0A entry, 0x12
// evidence — replay routes evidence records by it); decoding with the entry body, and replay's decode of an entry
// (`decodeEntry`, no copies, with and without `previous`), agree with plain decoding. Nothing may trap.
import CoopLedger
import CoopWire
import Foundation
import FuzzKit

@testable import CoopLog
@testable import CoopSegments

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    Seeds.writeIfAsked(target: "fuzz-record") {
        let demo = try DemoLog.make(entries: 40, seed: 3, evidence: true)
        return demo.records.enumerated().map { Seeds.Seed("demo\($0.offset)", $0.element) }
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecord(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    check(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size)) ? 0 : -1
}

/// Checks one payload; false when it reaches a known bug that is skipped.
private func check(_ payload: UnsafeRawBufferPointer) -> Bool {
    let decoded: DecodedRecord?
    do {
        decoded = try RecordCodec.decode(payload, at: "fuzz")
    } catch let error as LogError {
        Property.require(error.code == .corrupt, "a bad record gives a LogError coded \(error.code), not corrupt")
        decoded = nil
    } catch {
        Property.fail("RecordCodec.decode threw something other than LogError: \(error)")
    }

    // Decoding with the body agrees: it fails when plain decoding fails, and otherwise decodes the same record.
    let withBody = try? RecordCodec.decodeWithBody(payload, at: "fuzz")
    Property.require(decoded != nil || withBody == nil, "decodeWithBody accepted a record decode refuses")

    // Replay's decode of an entry record (no copies): it refuses exactly what decodeWithBody refuses, and otherwise
    // gives the same id and body (nothing for evidence).
    let lean: (id: EntryID, body: EntryBody)?
    var leanRefused = false
    do {
        lean = try RecordCodec.decodeEntry(payload, at: "fuzz")
    } catch let error as LogError {
        Property.require(error.code == .corrupt, "decodeEntry gives a LogError coded \(error.code), not corrupt")
        lean = nil
        leanRefused = true
    } catch {
        Property.fail("RecordCodec.decodeEntry threw something other than LogError: \(error)")
    }
    Property.require(leanRefused == (withBody == nil), "decodeEntry and decodeWithBody disagree on whether it decodes")
    if let withBody {
        if case .entry(_, let id) = withBody.record.content {
            Property.require(lean?.id == id && lean?.body == withBody.body, "decodeEntry gives another id or body")
        } else {
            Property.require(lean == nil, "decodeEntry gives an entry for an evidence record")
        }
    }

    // The same decode as replay calls it, without `previous`: the same outcome, the body with `previous` empty.
    let withoutPrevious = Result { try RecordCodec.decodeEntry(payload, keepingPrevious: false, at: "fuzz") }
    switch withoutPrevious {
    case .success(let got):
        Property.require(!leanRefused, "decodeEntry without previous accepted a record it refuses with previous")
        var expected = lean?.body
        expected?.previous = []
        Property.require(got?.id == lean?.id && got?.body == expected, "decodeEntry without previous differs")
    case .failure(let error):
        Property.require(leanRefused, "decodeEntry without previous refused a record it takes with previous: \(error)")
    }

    guard let decoded else { return true }
    let kindByte: UInt8 = if case .entry = decoded.content { 0x0A } else { 0x12 }
    if KnownBugs.skip("record-kind-byte", payload.first != kindByte) { return false }
    Property.require(decoded.chain.count == 32, "a decoded record's chain value has \(decoded.chain.count) bytes")
    var record = LogRecord(chain: decoded.chain)
    switch decoded.content {
    case .entry(let bytes, let id):
        Property.require(id == EntryID(digestOf: bytes), "an entry record's id is not SHA-256 of its bytes")
        record.record = .entry(bytes)
    case .evidence(let evidence):
        record.record = .evidence(evidence)
    }
    Property.require(
        payload.first == kindByte,
        "a record that decodes as \(kindByte == 0x0A ? "an entry" : "evidence") starts with byte 0x"
            + String(payload.first ?? 0, radix: 16) + ", not 0x" + String(kindByte, radix: 16)
            + " (docs/LOG-FORMAT.md: the first byte tells the kind)"
    )

    let reencoded = record.wireBytes()
    let again: DecodedRecord
    do {
        again = try reencoded.withUnsafeBytes { try RecordCodec.decode($0, at: "fuzz re-encoded") }
    } catch {
        Property.fail("the re-encoding of a decoded record does not decode: \(error)")
    }
    Property.require(again.chain == decoded.chain, "re-encoding a record changes its chain value")
    switch (again.content, decoded.content) {
    case (.entry(let a, let idA), .entry(let b, let idB)):
        Property.require(a == b && idA == idB, "re-encoding an entry record changes the entry")
    case (.evidence(let a), .evidence(let b)):
        Property.require(a == b, "re-encoding an evidence record changes the evidence")
    default:
        Property.fail("re-encoding a record changes its kind")
    }

    if let withBody {
        Property.require(withBody.record.chain == decoded.chain, "decodeWithBody gives another chain value")
        if case .entry(let bytes, _) = decoded.content {
            let body = try? EntryBody(wireBytes: SignedEntry(wireBytes: bytes).body)
            Property.require(withBody.body == body, "decodeWithBody gives another entry body")
        }
    }
    return true
}
