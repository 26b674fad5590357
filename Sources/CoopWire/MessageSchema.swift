internal import CProtobufC

/// The shape of a message type, read from protobuf-c's descriptors: what a generic client (or a test that
/// makes random messages) needs to know. Values; thread-safe.
public struct MessageSchema: Sendable, Hashable {
    /// Full name, e.g. `coop.v1.EntryBody`.
    public var name: String
    /// Fields in field-number order.
    public var fields: [FieldSchema]

    /// The schema of message type `name`.
    public init(named name: String) throws {
        let d = try MessageRegistry.descriptor(named: name)
        self.name = name
        self.fields = d.fields.map(FieldSchema.init)
    }
}

/// One field of a message type.
public struct FieldSchema: Sendable, Hashable {
    /// What a field holds.
    public enum Kind: Sendable, Hashable {
        case int32, int64, uint32, uint64, bool, float, double, string, bytes
        /// An enum; the value names in declaration order.
        case enumeration(type: String, values: [String])
        /// A message of that full name.
        case message(String)
    }

    /// The `.proto` name, `title_zh`.
    public var name: String
    /// The JSON name, `titleZh`.
    public var jsonName: String
    /// The field number.
    public var number: Int
    /// The value kind.
    public var kind: Kind
    /// True for `repeated` fields.
    public var isRepeated: Bool
    /// Fields of one oneof share a group number; `nil` outside oneofs.
    public var oneofGroup: Int?

    init(_ f: ProtobufCFieldDescriptor) {
        name = String(cString: f.name)
        jsonName = ProtoJSON.jsonName(name)
        number = Int(f.id)
        isRepeated = f.label == PROTOBUF_C_LABEL_REPEATED
        oneofGroup = f.flags & UInt32(PROTOBUF_C_FIELD_FLAG_ONEOF.rawValue) != 0 ? Int(f.quantifier_offset) : nil
        switch f.type {
        case PROTOBUF_C_TYPE_INT32, PROTOBUF_C_TYPE_SINT32, PROTOBUF_C_TYPE_SFIXED32: kind = .int32
        case PROTOBUF_C_TYPE_INT64, PROTOBUF_C_TYPE_SINT64, PROTOBUF_C_TYPE_SFIXED64: kind = .int64
        case PROTOBUF_C_TYPE_UINT32, PROTOBUF_C_TYPE_FIXED32: kind = .uint32
        case PROTOBUF_C_TYPE_UINT64, PROTOBUF_C_TYPE_FIXED64: kind = .uint64
        case PROTOBUF_C_TYPE_BOOL: kind = .bool
        case PROTOBUF_C_TYPE_FLOAT: kind = .float
        case PROTOBUF_C_TYPE_DOUBLE: kind = .double
        case PROTOBUF_C_TYPE_STRING: kind = .string
        case PROTOBUF_C_TYPE_BYTES: kind = .bytes
        case PROTOBUF_C_TYPE_ENUM:
            let e = f.descriptor!.assumingMemoryBound(to: ProtobufCEnumDescriptor.self)
            let values = UnsafeBufferPointer(start: e.pointee.values, count: Int(e.pointee.n_values))
                .map { String(cString: $0.name) }
            kind = .enumeration(type: String(cString: e.pointee.name), values: values)
        default:
            let m = f.descriptor!.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
            kind = .message(String(cString: m.pointee.name))
        }
    }
}
