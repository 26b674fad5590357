// fuzz-json: the JSON reader and writer and the canonical JSON mapping (ProtoJSON) on arbitrary text.
//
// Input: the first byte picks the message type (index in the sorted list of full names, modulo the count); the
// rest is JSON text. Properties: text that parses writes (compact and pretty) to text that parses to the same
// document; JSON that maps to bytes maps back (bytes → JSON) and that JSON maps to the same bytes again
// (decode → encode → decode stable); when the typed value decodes from those bytes it encodes to them. Errors
// must be WireError. Nothing may trap.
import CoopWire
import Foundation
import FuzzKit

private let messageNames = WireTypes.all.keys.sorted()

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    Seeds.writeIfAsked(target: "fuzz-json", dictionary: dictionary) { try seeds() }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let name = messageNames[Int(data[0]) % messageNames.count]
    check(name: name, text: Array(UnsafeBufferPointer(start: data + 1, count: size - 1)))
    return 0
}

private func check(name: String, text: [UInt8]) {
    let document: JSONValue
    do {
        document = try JSONParser.parse(text)
    } catch is WireError {
        return
    } catch {
        Property.fail("parsing threw something other than WireError: \(error)")
    }

    // The writer's output parses back to the same document (compared as compact text: members keep the line
    // they were read from, which the writer does not preserve).
    let compact = JSONWriter.write(document, pretty: false)
    for written in [compact, JSONWriter.write(document, pretty: true)] {
        do {
            let reparsed = try JSONParser.parse(written)
            Property.require(
                JSONWriter.write(reparsed, pretty: false) == compact,
                "JSON writer/parser round trip: \(compact) became \(JSONWriter.write(reparsed, pretty: false))"
            )
        } catch {
            Property.fail("the writer's output does not parse: \(error); text: \(written)")
        }
    }

    let bytes: [UInt8]
    do {
        bytes = try ProtoJSON.bytes(messageName: name, json: document)
    } catch is WireError {
        return
    } catch {
        Property.fail("\(name): mapping JSON threw something other than WireError: \(error)")
    }
    let canonical: JSONValue
    do {
        canonical = try ProtoJSON.json(messageName: name, bytes: bytes)
    } catch {
        Property.fail("\(name): \(compact) maps to bytes \(hex(bytes)) whose JSON view fails: \(error)")
    }
    do {
        let again = try ProtoJSON.bytes(messageName: name, json: canonical)
        Property.require(
            again == bytes,
            "\(name): bytes → JSON → bytes not stable: \(hex(bytes)) then \(hex(again)) (JSON "
                + "\(JSONWriter.write(canonical, pretty: false)))"
        )
    } catch {
        Property.fail("\(name): canonical JSON \(JSONWriter.write(canonical, pretty: false)) does not map: \(error)")
    }
    checkTyped(WireTypes.all[name]!, bytes: bytes)
}

private func checkTyped<M: WireMessage>(_ type: M.Type, bytes: [UInt8]) {
    // Typed decoding refuses enum numbers the schema does not define; anything else must decode.
    guard let value = try? M(wireBytes: bytes) else { return }
    Property.require(
        value.wireBytes() == bytes,
        "\(M.protoName): typed re-encoding \(hex(value.wireBytes())) differs from the JSON mapping's \(hex(bytes))"
    )
}

private func hex(_ bytes: [UInt8]) -> String {
    bytes.prefix(256).map { String(format: "%02x", $0) }.joined() + (bytes.count > 256 ? "…" : "")
}

/// JSON tokens, every member name (JSON and `.proto` spelling) and enum value name of the schema.
private func dictionary() throws -> [String] {
    var words: Set<String> = ["{", "}", "[", "]", ":", ",", "\"", "true", "false", "null", "-0", "1e308", "\\u0000"]
    for name in messageNames {
        for field in try MessageSchema(named: name).fields {
            words.insert("\"\(field.jsonName)\":")
            words.insert("\"\(field.name)\":")
            if case .enumeration(_, let values) = field.kind {
                for value in values { words.insert("\"\(value)\"") }
            }
        }
    }
    return words.sorted()
}

/// Canonical JSON of every message type (filled in and empty), the reference files, and some non-canonical
/// spellings the reader accepts (proto names, numbers for enums and 64-bit integers, URL-safe base64).
private func seeds() throws -> [Seeds.Seed] {
    var out: [Seeds.Seed] = []
    func add(_ name: String, _ label: String, _ text: String) {
        guard let index = messageNames.firstIndex(of: name) else { return }
        out.append(Seeds.Seed("\(name)-\(label)", [UInt8(index)] + Array(text.utf8)))
    }
    for name in messageNames {
        add(name, "empty", "{}")
        let filled = try FilledMessage.json(name)
        add(name, "filled", JSONWriter.write(filled, pretty: true))
        add(name, "compact", JSONWriter.write(filled, pretty: false))
    }
    let root = Repository.root
    add("coop.v1.Catalog", "deploy", try String(contentsOfFile: root + "/deploy/catalog.json", encoding: .utf8))
    add("coop.v1.Roster", "deploy", try String(contentsOfFile: root + "/deploy/roster.json", encoding: .utf8))
    add(
        "coop.v1.StatusUpdate",
        "lenient",
        #"{"item_id": "CY-07", "status": 3, "progress": 40.0, "note": "\u6210\u6e1d \ud83d\ude00\n", "reporter": null}"#
    )
    add("coop.v1.EntryBody", "lenient", #"{"origin":"cd-wuhou","sequence":12,"previous":"AAEC_-8","parents":[]}"#)
    add("coop.v1.HybridTimestamp", "lenient", #"{"wallMs":"1700000000000","logical":1e2}"#)
    add("coop.v1.LogRecord", "oneof", #"{"entry":"","chain":"AA=="}"#)
    return out
}
