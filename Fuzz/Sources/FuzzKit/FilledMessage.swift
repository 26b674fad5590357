public import CoopWire

/// A message of any schema type with every field set (the first case of each oneof), as canonical JSON, for
/// seeds: values near the edges (negative, 64-bit, non-ASCII text, bytes), two elements per repeated field,
/// nesting down to `depth`.
public enum FilledMessage {
    public static func json(_ name: String, depth: Int = 3) throws -> JSONValue {
        let schema = try MessageSchema(named: name)
        var members: [JSONMember] = []
        var oneofs: Set<Int> = []
        for field in schema.fields {
            if let group = field.oneofGroup {
                guard oneofs.insert(group).inserted else { continue }
            }
            if case .message = field.kind, depth == 0 { continue }
            let one = try value(field.kind, depth: depth)
            members.append(JSONMember(key: field.jsonName, value: field.isRepeated ? .array([one, one]) : one))
        }
        return .object(members)
    }

    private static func value(_ kind: FieldSchema.Kind, depth: Int) throws -> JSONValue {
        switch kind {
        case .int32: .number("-7")
        case .int64: .string("-9007199254740993")
        case .uint32: .number("4294967295")
        case .uint64: .string("18446744073709551615")
        case .bool: .bool(true)
        case .float, .double: .number("1.5")
        case .string: .string("成渝 CY-01 \"q\"")
        case .bytes: .string(Base64.encode([0, 1, 2, 0xFE, 0xFF]))
        case .enumeration(_, let values): .string(values.count > 1 ? values[1] : values[0])
        case .message(let name): try json(name, depth: depth - 1)
        }
    }
}
