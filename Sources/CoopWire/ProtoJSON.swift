internal import CProtobufC

/// Converts between the protobuf binary encoding and protobuf's canonical JSON mapping for any message type of
/// `proto/coop/v1`, driven by protobuf-c's descriptors (no per-type code).
///
/// The mapping: lowerCamelCase member names (the `.proto` name is accepted too), enums by value name (numbers
/// accepted), bytes as base64, 64-bit integers as strings (numbers accepted), fields at their default value
/// omitted. Parsing rejects unknown members and duplicates. Thread-safe: pure functions.
public enum ProtoJSON {
    /// The canonical JSON of `bytes` decoded as message type `messageName` (e.g. `coop.v1.SignedEntry`).
    public static func json(messageName: String, bytes: [UInt8]) throws -> JSONValue {
        let d = try MessageRegistry.descriptor(named: messageName)
        if let problem = bytes.withUnsafeBytes({ WireDiagnostics.problem(messageName: messageName, bytes: $0) }) {
            throw WireError(code: problem.hasSuffix("not valid UTF-8") ? .invalidUTF8 : .malformed, message: problem)
        }
        let message: UnsafeMutablePointer<ProtobufCMessage>? = bytes.withUnsafeBufferPointer { b in
            var one: UInt8 = 0
            return withUnsafePointer(to: &one) { empty in
                protobuf_c_message_unpack(d.pointer, nil, b.count, b.baseAddress ?? empty)
            }
        }
        guard let message else {
            throw bytes.withUnsafeBytes { WireDiagnostics.explain(messageName: messageName, bytes: $0) }
        }
        defer { protobuf_c_message_free_unpacked(message, nil) }
        return try JSONFromC.object(UnsafeRawPointer(message), d, path: messageName)
    }

    /// The JSON of a message value.
    public static func json<M: WireMessage>(_ message: M) throws -> JSONValue {
        try json(messageName: M.protoName, bytes: message.wireBytes())
    }

    /// The binary encoding of `json` read as message type `messageName`.
    public static func bytes(messageName: String, json: JSONValue) throws -> [UInt8] {
        let d = try MessageRegistry.descriptor(named: messageName)
        let arena = Arena()
        return try withExtendedLifetime(arena) {
            let message = try CFromJSON(arena: arena).message(json, d, path: messageName)
            let size = protobuf_c_message_get_packed_size(message)
            guard size > 0 else { return [] }
            return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                count = protobuf_c_message_pack(message, buffer.baseAddress!)
            }
        }
    }

    /// A message value from JSON.
    public static func decode<M: WireMessage>(_ type: M.Type, from json: JSONValue) throws -> M {
        try M(wireBytes: bytes(messageName: M.protoName, json: json))
    }

    /// protobuf's JSON name of a field: `title_zh` → `titleZh`.
    static func jsonName(_ protoName: String) -> String {
        var out = ""
        var upper = false
        for c in protoName {
            if c == "_" {
                upper = true
            } else if upper {
                out += c.uppercased()
                upper = false
            } else {
                out.append(c)
            }
        }
        return out
    }
}

/// Field kinds that read the same way from a C message.
private func elementSize(_ type: ProtobufCType) -> Int {
    switch type {
    case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64,
        PROTOBUF_C_TYPE_FIXED64, PROTOBUF_C_TYPE_DOUBLE:
        8
    case PROTOBUF_C_TYPE_STRING, PROTOBUF_C_TYPE_MESSAGE: MemoryLayout<UnsafeRawPointer>.stride
    case PROTOBUF_C_TYPE_BYTES: MemoryLayout<ProtobufCBinaryData>.stride
    case PROTOBUF_C_TYPE_BOOL: MemoryLayout<protobuf_c_boolean>.stride
    default: 4
    }
}

private func isOneof(_ f: ProtobufCFieldDescriptor) -> Bool {
    f.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue) != 0
}

private func subDescriptor(_ f: ProtobufCFieldDescriptor) -> MessageDescriptor {
    MessageDescriptor(pointer: f.descriptor!.assumingMemoryBound(to: ProtobufCMessageDescriptor.self))
}

private func enumDescriptor(_ f: ProtobufCFieldDescriptor) -> UnsafePointer<ProtobufCEnumDescriptor> {
    f.descriptor!.assumingMemoryBound(to: ProtobufCEnumDescriptor.self)
}

/// Reads an unpacked C message into JSON.
private enum JSONFromC {
    static func object(_ m: UnsafeRawPointer, _ d: MessageDescriptor, path: String) throws -> JSONValue {
        var members: [JSONMember] = []
        for f in d.fields {
            let name = String(cString: f.name)
            let fieldPath = "\(path).\(name)"
            let at = m + Int(f.offset)
            if f.label == PROTOBUF_C_LABEL_REPEATED {
                let count = m.load(fromByteOffset: Int(f.quantifier_offset), as: Int.self)
                guard count > 0, let base = at.load(as: UnsafeRawPointer?.self) else { continue }
                var elements: [JSONValue] = []
                elements.reserveCapacity(count)
                for i in 0..<count {
                    elements.append(try value(base + i * elementSize(f.type), f, path: "\(fieldPath)[\(i)]"))
                }
                members.append(JSONMember(key: ProtoJSON.jsonName(name), value: .array(elements)))
                continue
            }
            guard isPresent(m, f) else { continue }
            members.append(JSONMember(key: ProtoJSON.jsonName(name), value: try value(at, f, path: fieldPath)))
        }
        return .object(members)
    }

    /// Whether a singular field is present: proto3 fields at their zero value are not.
    private static func isPresent(_ m: UnsafeRawPointer, _ f: ProtobufCFieldDescriptor) -> Bool {
        let at = m + Int(f.offset)
        if isOneof(f) {
            return m.load(fromByteOffset: Int(f.quantifier_offset), as: UInt32.self) == f.id
        }
        if f.label == PROTOBUF_C_LABEL_OPTIONAL && f.type != PROTOBUF_C_TYPE_STRING
            && f.type != PROTOBUF_C_TYPE_MESSAGE
        {
            return m.load(fromByteOffset: Int(f.quantifier_offset), as: protobuf_c_boolean.self) != 0
        }
        switch f.type {
        case PROTOBUF_C_TYPE_MESSAGE: return at.load(as: UnsafeRawPointer?.self) != nil
        case PROTOBUF_C_TYPE_STRING:
            guard let s = at.load(as: UnsafePointer<CChar>?.self) else { return false }
            return f.label != PROTOBUF_C_LABEL_NONE || s.pointee != 0
        case PROTOBUF_C_TYPE_BYTES: return at.load(as: ProtobufCBinaryData.self).len > 0
        default:
            let size = elementSize(f.type)
            return UnsafeRawBufferPointer(start: at, count: size).contains { $0 != 0 }
        }
    }

    private static func value(_ at: UnsafeRawPointer, _ f: ProtobufCFieldDescriptor, path: String) throws -> JSONValue {
        switch f.type {
        case PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SFIXED32:
            return .number(String(at.load(as: Int32.self)))
        case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32:
            return .number(String(at.load(as: UInt32.self)))
        case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64:
            return .string(String(at.load(as: Int64.self)))
        case PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64:
            return .string(String(at.load(as: UInt64.self)))
        case PROTOBUF_C_TYPE_BOOL:
            return .bool(at.load(as: protobuf_c_boolean.self) != 0)
        case PROTOBUF_C_TYPE_FLOAT:
            return floating(Double(at.load(as: Float.self)))
        case PROTOBUF_C_TYPE_DOUBLE:
            return floating(at.load(as: Double.self))
        case PROTOBUF_C_TYPE_ENUM:
            let raw = at.load(as: Int32.self)
            if let v = protobuf_c_enum_descriptor_get_value(enumDescriptor(f), raw) {
                return .string(String(cString: v.pointee.name))
            }
            return .number(String(raw))
        case PROTOBUF_C_TYPE_STRING:
            guard let p = at.load(as: UnsafePointer<CChar>?.self) else { return .string("") }
            guard let s = String(validatingCString: p) else {
                throw WireError(code: .invalidUTF8, message: "\(path): string is not valid UTF-8")
            }
            return .string(s)
        case PROTOBUF_C_TYPE_BYTES:
            let b = at.load(as: ProtobufCBinaryData.self)
            guard b.len > 0, let p = b.data else { return .string("") }
            return .string(Base64.encode(UnsafeBufferPointer(start: p, count: b.len)))
        case PROTOBUF_C_TYPE_MESSAGE:
            guard let p = at.load(as: UnsafeRawPointer?.self) else { return .object([]) }
            return try object(p, subDescriptor(f), path: path)
        default:
            throw WireError(code: .jsonMapping, message: "\(path): unsupported field type \(f.type.rawValue)")
        }
    }

    private static func floating(_ d: Double) -> JSONValue {
        if d.isNaN { return .string("NaN") }
        if d.isInfinite { return .string(d > 0 ? "Infinity" : "-Infinity") }
        if d == d.rounded() && abs(d) < 1e15 { return .number(String(Int64(d))) }
        return .number("\(d)")
    }
}

/// Builds a C message from JSON; every allocation belongs to the arena.
private struct CFromJSON {
    let arena: Arena

    func message(
        _ json: JSONValue,
        _ d: MessageDescriptor,
        path: String
    ) throws -> UnsafeMutablePointer<
        ProtobufCMessage
    > {
        let raw = arena.raw(Int(d.pointer.pointee.sizeof_message))
        let m = raw.bindMemory(to: ProtobufCMessage.self, capacity: 1)
        d.pointer.pointee.message_init(m)
        guard case .object(let members) = json else {
            throw mapping(path, "expected an object for \(d.fullName), found \(json.kindName)")
        }
        var seen: [UInt32: String] = [:]
        var oneofSeen: [UInt32: String] = [:]
        for member in members {
            let where_ = member.line > 0 ? " (line \(member.line))" : ""
            guard let f = field(named: member.key, in: d) else {
                let known = d.fields.map { ProtoJSON.jsonName(String(cString: $0.name)) }.joined(separator: ", ")
                throw mapping(path, "unknown field \"\(member.key)\"\(where_); \(d.fullName) has: \(known)")
            }
            let name = String(cString: f.pointee.name)
            let fieldPath = "\(path).\(ProtoJSON.jsonName(name))"
            if let previous = seen[f.pointee.id] {
                throw mapping(path, "field \"\(member.key)\"\(where_) given twice (also as \"\(previous)\")")
            }
            seen[f.pointee.id] = member.key
            if case .null = member.value { continue }
            try set(member.value, f.pointee, in: UnsafeMutableRawPointer(m), path: fieldPath + where_)
            if isOneof(f.pointee) {
                let q = f.pointee.quantifier_offset
                if let other = oneofSeen[q] {
                    throw mapping(path, "\"\(member.key)\"\(where_) and \"\(other)\" belong to one oneof; give one")
                }
                oneofSeen[q] = member.key
            }
        }
        return m
    }

    private func field(named key: String, in d: MessageDescriptor) -> UnsafePointer<ProtobufCFieldDescriptor>? {
        for i in d.fields.indices {
            let name = String(cString: d.fields[i].name)
            if name == key || ProtoJSON.jsonName(name) == key { return d.fields.baseAddress! + i }
        }
        return nil
    }

    private func mapping(_ path: String, _ what: String) -> WireError {
        WireError(code: .jsonMapping, message: "\(path): \(what)")
    }

    private func set(
        _ json: JSONValue,
        _ f: ProtobufCFieldDescriptor,
        in m: UnsafeMutableRawPointer,
        path: String
    ) throws {
        let at = m + Int(f.offset)
        if f.label == PROTOBUF_C_LABEL_REPEATED {
            guard case .array(let elements) = json else {
                throw mapping(path, "expected an array, found \(json.kindName)")
            }
            guard !elements.isEmpty else { return }
            let size = elementSize(f.type)
            let base = arena.raw(size * elements.count)
            for (i, e) in elements.enumerated() {
                try store(e, f, at: base + i * size, path: "\(path)[\(i)]")
            }
            m.storeBytes(of: elements.count, toByteOffset: Int(f.quantifier_offset), as: Int.self)
            at.storeBytes(of: UnsafeRawPointer(base), as: UnsafeRawPointer.self)
            return
        }
        try store(json, f, at: at, path: path)
        if isOneof(f) {
            m.storeBytes(of: f.id, toByteOffset: Int(f.quantifier_offset), as: UInt32.self)
        } else if f.label == PROTOBUF_C_LABEL_OPTIONAL && f.type != PROTOBUF_C_TYPE_STRING
            && f.type != PROTOBUF_C_TYPE_MESSAGE
        {
            m.storeBytes(of: 1, toByteOffset: Int(f.quantifier_offset), as: protobuf_c_boolean.self)
        }
    }

    private func store(
        _ json: JSONValue,
        _ f: ProtobufCFieldDescriptor,
        at: UnsafeMutableRawPointer,
        path: String
    )
        throws
    {
        switch f.type {
        case PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SFIXED32:
            at.storeBytes(of: try integer(json, Int32.self, path: path), as: Int32.self)
        case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32:
            at.storeBytes(of: try integer(json, UInt32.self, path: path), as: UInt32.self)
        case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64:
            at.storeBytes(of: try integer(json, Int64.self, path: path), as: Int64.self)
        case PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64:
            at.storeBytes(of: try integer(json, UInt64.self, path: path), as: UInt64.self)
        case PROTOBUF_C_TYPE_BOOL:
            guard case .bool(let b) = json else {
                throw mapping(path, "expected true or false, found \(json.kindName)")
            }
            at.storeBytes(of: b ? 1 : 0, as: protobuf_c_boolean.self)
        case PROTOBUF_C_TYPE_FLOAT:
            at.storeBytes(of: Float(try floating(json, path: path)), as: Float.self)
        case PROTOBUF_C_TYPE_DOUBLE:
            at.storeBytes(of: try floating(json, path: path), as: Double.self)
        case PROTOBUF_C_TYPE_ENUM:
            at.storeBytes(of: try enumeration(json, enumDescriptor(f), path: path), as: Int32.self)
        case PROTOBUF_C_TYPE_STRING:
            guard case .string(let s) = json else { throw mapping(path, "expected a string, found \(json.kindName)") }
            if s.utf8.contains(0) { throw mapping(path, "string contains a NUL character") }
            at.storeBytes(of: UnsafeRawPointer(arena.string(s)), as: UnsafeRawPointer.self)
        case PROTOBUF_C_TYPE_BYTES:
            guard case .string(let s) = json else {
                throw mapping(path, "expected base64 text, found \(json.kindName)")
            }
            guard let decoded = Base64.decode(s) else { throw mapping(path, "\"\(s.prefix(40))\" is not base64") }
            at.storeBytes(of: arena.bytes(decoded), as: ProtobufCBinaryData.self)
        case PROTOBUF_C_TYPE_MESSAGE:
            let sub = try message(json, subDescriptor(f), path: path)
            at.storeBytes(of: UnsafeRawPointer(sub), as: UnsafeRawPointer.self)
        default:
            throw mapping(path, "unsupported field type \(f.type.rawValue)")
        }
    }

    private func integer<I: FixedWidthInteger>(_ json: JSONValue, _ type: I.Type, path: String) throws -> I {
        let text: String
        switch json {
        case .number(let n): text = n
        case .string(let s): text = s
        default: throw mapping(path, "expected an integer, found \(json.kindName)")
        }
        if let v = I(text) { return v }
        if let d = Double(text), d == d.rounded(), let v = I(exactly: d) { return v }
        throw mapping(path, "\"\(text)\" is not an integer in the range of \(I.self)")
    }

    private func floating(_ json: JSONValue, path: String) throws -> Double {
        switch json {
        case .number(let n):
            if let d = Double(n) { return d }
        case .string("NaN"): return .nan
        case .string("Infinity"): return .infinity
        case .string("-Infinity"): return -.infinity
        case .string(let s):
            if let d = Double(s) { return d }
        default: break
        }
        throw mapping(path, "expected a number, found \(json.kindName)")
    }

    private func enumeration(
        _ json: JSONValue,
        _ e: UnsafePointer<ProtobufCEnumDescriptor>,
        path: String
    ) throws
        -> Int32
    {
        let enumName = String(cString: e.pointee.name)
        switch json {
        case .string(let s):
            if let v = protobuf_c_enum_descriptor_get_value_by_name(e, s) { return v.pointee.value }
            let names = UnsafeBufferPointer(start: e.pointee.values, count: Int(e.pointee.n_values))
                .map { String(cString: $0.name) }.joined(separator: ", ")
            throw mapping(path, "\"\(s)\" is not a value of \(enumName) (one of: \(names))")
        case .number:
            // Open (proto3) enums keep numbers they do not know, as protobuf's JSON parsers do; typed decoding
            // refuses them later.
            return try integer(json, Int32.self, path: path)
        default:
            throw mapping(path, "expected an enum value name, found \(json.kindName)")
        }
    }
}
