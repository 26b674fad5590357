public import CoopWire

/// Random messages of any schema type, as canonical JSON, for property tests.
public enum RandomMessage {
    /// A random message of type `name` as JSON; every field is set with probability `density`, nesting stops
    /// at `depth`. Values cover the extremes (0, max, 2^53+1, Chinese text, empty and long bytes).
    public static func json(
        _ name: String,
        using rng: inout SeededRandom,
        density: Double = 0.7,
        depth: Int = 3
    ) throws -> JSONValue {
        let schema = try MessageSchema(named: name)
        var members: [JSONMember] = []
        var oneofsDone: Set<Int> = []
        for field in schema.fields {
            guard Double.random(in: 0..<1, using: &rng) < density else { continue }
            if let group = field.oneofGroup {
                guard !oneofsDone.contains(group) else { continue }
                oneofsDone.insert(group)
            }
            if case .message = field.kind, depth == 0 { continue }
            if field.isRepeated {
                let count = Int.random(in: 1...3, using: &rng)
                var elements: [JSONValue] = []
                for _ in 0..<count {
                    elements.append(try value(field.kind, using: &rng, depth: depth, nonZero: false))
                }
                members.append(JSONMember(key: field.jsonName, value: .array(elements)))
            } else {
                // Singular proto3 fields at their zero value are not written in canonical JSON.
                let v = try value(field.kind, using: &rng, depth: depth, nonZero: field.oneofGroup == nil)
                members.append(JSONMember(key: field.jsonName, value: v))
            }
        }
        return .object(members)
    }

    private static func value(
        _ kind: FieldSchema.Kind,
        using rng: inout SeededRandom,
        depth: Int,
        nonZero: Bool
    ) throws -> JSONValue {
        let low = nonZero ? 1 : 0
        switch kind {
        case .int32:
            return .number(
                String(
                    [Int32.min, -1, Int32.max, Int32(low), Int32.random(in: 1...1000, using: &rng)]
                        .randomElement(using: &rng)!
                )
            )
        case .uint32:
            return .number(
                String(
                    [UInt32.max, UInt32(low), 100, UInt32.random(in: 1...UInt32.max, using: &rng)]
                        .randomElement(using: &rng)!
                )
            )
        case .int64:
            return .string(
                String(
                    [Int64.min, Int64.max, -1, 9_007_199_254_740_993, Int64(low)]
                        .randomElement(using: &rng)!
                )
            )
        case .uint64:
            return .string(
                String(
                    [UInt64.max, 9_007_199_254_740_993, UInt64(low), UInt64.random(in: 1...UInt64.max, using: &rng)]
                        .randomElement(using: &rng)!
                )
            )
        case .bool:
            return .bool(nonZero ? true : Bool.random(using: &rng))
        case .float, .double:
            return .number(String(Int.random(in: 1...1000, using: &rng)))
        case .string:
            var s = rng.text()
            if nonZero && s.isEmpty { s = "沙坪坝" }
            return .string(s)
        case .bytes:
            var b = rng.bytes(Int.random(in: 0...48, using: &rng))
            if nonZero && b.isEmpty { b = [0] }
            return .string(Base64.encode(b))
        case .enumeration(_, let values):
            let pick =
                nonZero
                ? values.dropFirst().randomElement(using: &rng) ?? values[0] : values.randomElement(using: &rng)!
            return .string(pick)
        case .message(let type):
            return try json(type, using: &rng, depth: depth - 1)
        }
    }
}
