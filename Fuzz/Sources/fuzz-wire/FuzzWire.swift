// fuzz-wire: decoding every message type of proto/coop/v1 from arbitrary bytes.
//
// Input: the first byte picks the message type (its index in the sorted list of full names, modulo the count);
// the rest is the encoding. Properties, for bytes that decode: the re-encoding decodes to an equal value and
// encodes to the same bytes again (round trip stable); the generic JSON view of the same bytes exists, and
// turning that JSON back into bytes gives the re-encoding (the typed and the descriptor-driven codecs agree).
// Bytes that do not decode must throw WireError. Nothing may trap.
import CoopWire
import Foundation
import FuzzKit

private let messageTypes: [(name: String, type: any WireMessage.Type)] = WireTypes.all.keys.sorted().map {
    ($0, WireTypes.all[$0]!)
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutableRawPointer?, _ argv: UnsafeMutableRawPointer?) -> CInt {
    Seeds.writeIfAsked(target: "fuzz-wire") { try seeds() }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWire(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let (name, type) = messageTypes[Int(data[0]) % messageTypes.count]
    checkRoundTrip(type, name: name, UnsafeRawBufferPointer(start: data + 1, count: size - 1))
    return 0
}

private func checkRoundTrip<M: WireMessage>(_ type: M.Type, name: String, _ bytes: UnsafeRawBufferPointer) {
    let input = Array(bytes)
    let decoded: M
    do {
        decoded = try M(wireBytes: bytes)
    } catch is WireError {
        // The generic JSON view is more lenient (unknown enum numbers), so it may succeed; it must not trap.
        _ = try? ProtoJSON.json(messageName: name, bytes: input)
        return
    } catch {
        Property.fail("\(name): decoding threw something other than WireError: \(error)")
    }
    let encoded = decoded.wireBytes()
    let again: M
    do {
        again = try M(wireBytes: encoded)
    } catch {
        Property.fail("\(name): the re-encoding of a decoded value does not decode: \(error); \(hex(encoded))")
    }
    Property.require(again == decoded, "\(name): decode(encode(m)) != m for input \(hex(input))")
    Property.require(
        again.wireBytes() == encoded,
        "\(name): encoding is not stable: \(hex(encoded)) then \(hex(again.wireBytes()))"
    )

    let json: JSONValue
    do {
        json = try ProtoJSON.json(messageName: name, bytes: input)
    } catch {
        Property.fail("\(name): typed decoding accepted \(hex(input)) but the JSON view refused it: \(error)")
    }
    let text = JSONWriter.write(json, pretty: false)
    do {
        let fromJSON = try ProtoJSON.bytes(messageName: name, json: try JSONParser.parse(text))
        Property.require(
            fromJSON == encoded,
            "\(name): JSON \(text) gives \(hex(fromJSON)), the typed re-encoding is \(hex(encoded))"
        )
    } catch {
        Property.fail("\(name): the JSON view \(text) of a decodable message does not map back: \(error)")
    }
}

private func hex(_ bytes: [UInt8]) -> String {
    bytes.prefix(256).map { String(format: "%02x", $0) }.joined() + (bytes.count > 256 ? "…" : "")
}

/// Valid encodings of every message type: the zero value, and the demo log's entries, bodies and records.
private func seeds() throws -> [Seeds.Seed] {
    var out: [Seeds.Seed] = []
    func add<M: WireMessage>(_ message: M, _ label: String) {
        guard let index = messageTypes.firstIndex(where: { $0.name == M.protoName }) else { return }
        out.append(Seeds.Seed("\(M.protoName)-\(label)", [UInt8(index)] + message.wireBytes()))
    }
    for (name, type) in messageTypes {
        func zero<M: WireMessage>(_ type: M.Type) { add(M(), "zero") }
        zero(type)
        // A filled-in value of every field, through the JSON mapping from a generic description.
        if let filled = try? ProtoJSON.bytes(messageName: name, json: FilledMessage.json(name)) {
            let index = messageTypes.firstIndex { $0.name == name }!
            out.append(Seeds.Seed("\(name)-filled", [UInt8(index)] + filled))
        }
    }
    let demo = try DemoLog.make(entries: 24, seed: 7, evidence: true)
    for (i, record) in demo.records.enumerated() {
        let decoded = try LogRecord(wireBytes: record)
        add(decoded, "demo\(i)")
        switch decoded.record {
        case .entry(let bytes):
            let signed = try SignedEntry(wireBytes: bytes)
            add(signed, "demo\(i)")
            add(try EntryBody(wireBytes: signed.body), "demo\(i)")
        case .evidence(let evidence):
            add(evidence, "demo\(i)")
        case nil:
            break
        }
    }
    add(Repository.roster.roster, "deploy")
    add(Repository.catalog.catalog, "deploy")
    return out
}
