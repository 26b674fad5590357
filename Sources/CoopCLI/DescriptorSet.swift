/// The message types, enums and services of an encoded `google.protobuf.FileDescriptorSet`, as a server's reflection
/// serves it (`/coop.v1.Reflection/GetFileDescriptorSet`): what `coop call … describe` shows, for the types the
/// server knows, whether or not this build knows them. Decoded with ``ProtoReader``; only the descriptor fields
/// needed to describe types are read, the rest is skipped. A value.
struct DescriptorSet {
    /// A field of a message type.
    struct Field {
        var name: String
        var number: Int64
        /// 1 optional, 2 required, 3 repeated (`FieldDescriptorProto.Label`).
        var label: Int64
        /// `FieldDescriptorProto.Type`: 9 string, 11 message, 14 enum, …
        var type: Int64
        /// For messages and enums, the full name without the leading dot.
        var typeName: String
        var jsonName: String
        var oneofIndex: Int64?
        var proto3Optional: Bool
    }

    /// A message type.
    struct Message {
        var fullName: String
        var file: String
        var fields: [Field] = []
        var oneofs: [String] = []
    }

    /// An enum type.
    struct EnumType {
        var fullName: String
        var file: String
        var values: [(name: String, number: Int64)] = []
    }

    /// A method of a service.
    struct Method {
        var name: String
        var inputType: String
        var outputType: String
        var clientStreaming: Bool
        var serverStreaming: Bool
    }

    /// A service.
    struct Service {
        var fullName: String
        var file: String
        var methods: [Method] = []
    }

    private(set) var messages: [String: Message] = [:]
    private(set) var enums: [String: EnumType] = [:]
    private(set) var services: [String: Service] = [:]

    /// Nested types deeper than this are refused (a hostile set cannot exhaust the stack).
    static let maxDepth = 32

    /// Decodes `bytes`; throws ``ProtoReader/Malformed`` naming what is wrong.
    init(bytes: [UInt8]) throws(ProtoReader.Malformed) {
        var reader = ProtoReader(bytes[...])
        while let (number, value) = try reader.next() {
            guard number == 1, let file = value.message else { continue }
            try readFile(file)
        }
    }

    private mutating func readFile(_ bytes: ArraySlice<UInt8>) throws(ProtoReader.Malformed) {
        var name = ""
        var package = ""
        var messageBodies: [ArraySlice<UInt8>] = []
        var enumBodies: [ArraySlice<UInt8>] = []
        var serviceBodies: [ArraySlice<UInt8>] = []
        var reader = ProtoReader(bytes)
        while let (number, value) = try reader.next() {
            switch number {
            case 1: name = value.string ?? name
            case 2: package = value.string ?? package
            case 4: if let m = value.message { messageBodies.append(m) }
            case 5: if let e = value.message { enumBodies.append(e) }
            case 6: if let s = value.message { serviceBodies.append(s) }
            default: continue
            }
        }
        let scope = package.isEmpty ? "" : package + "."
        for body in messageBodies { try readMessage(body, scope: scope, file: name, depth: 0) }
        for body in enumBodies { try readEnum(body, scope: scope, file: name) }
        for body in serviceBodies { try readService(body, scope: scope, file: name) }
    }

    private mutating func readMessage(
        _ bytes: ArraySlice<UInt8>,
        scope: String,
        file: String,
        depth: Int
    ) throws(ProtoReader.Malformed) {
        guard depth < Self.maxDepth else {
            throw ProtoReader.Malformed(description: "message types nested deeper than \(Self.maxDepth)")
        }
        var message = Message(fullName: "", file: file)
        var nested: [ArraySlice<UInt8>] = []
        var nestedEnums: [ArraySlice<UInt8>] = []
        var reader = ProtoReader(bytes)
        while let (number, value) = try reader.next() {
            switch number {
            case 1: message.fullName = scope + (value.string ?? "")
            case 2: if let f = value.message { message.fields.append(try Self.readField(f)) }
            case 3: if let m = value.message { nested.append(m) }
            case 4: if let e = value.message { nestedEnums.append(e) }
            case 8: if let o = value.message { message.oneofs.append(try Self.readName(o)) }
            default: continue
            }
        }
        messages[message.fullName] = message
        for body in nested { try readMessage(body, scope: message.fullName + ".", file: file, depth: depth + 1) }
        for body in nestedEnums { try readEnum(body, scope: message.fullName + ".", file: file) }
    }

    private static func readField(_ bytes: ArraySlice<UInt8>) throws(ProtoReader.Malformed) -> Field {
        var field = Field(
            name: "",
            number: 0,
            label: 1,
            type: 0,
            typeName: "",
            jsonName: "",
            oneofIndex: nil,
            proto3Optional: false
        )
        var reader = ProtoReader(bytes)
        while let (number, value) = try reader.next() {
            switch number {
            case 1: field.name = value.string ?? ""
            case 3: field.number = value.integer ?? 0
            case 4: field.label = value.integer ?? 1
            case 5: field.type = value.integer ?? 0
            case 6:
                let name = value.string ?? ""
                field.typeName = name.hasPrefix(".") ? String(name.dropFirst()) : name
            case 9: field.oneofIndex = value.integer
            case 10: field.jsonName = value.string ?? ""
            case 17: field.proto3Optional = value.integer == 1
            default: continue
            }
        }
        return field
    }

    private static func readName(_ bytes: ArraySlice<UInt8>) throws(ProtoReader.Malformed) -> String {
        var reader = ProtoReader(bytes)
        var name = ""
        while let (number, value) = try reader.next() {
            if number == 1 { name = value.string ?? name }
        }
        return name
    }

    private mutating func readEnum(
        _ bytes: ArraySlice<UInt8>,
        scope: String,
        file: String
    ) throws(ProtoReader.Malformed) {
        var type = EnumType(fullName: "", file: file)
        var reader = ProtoReader(bytes)
        while let (number, value) = try reader.next() {
            switch number {
            case 1: type.fullName = scope + (value.string ?? "")
            case 2:
                guard let body = value.message else { continue }
                var valueReader = ProtoReader(body)
                var name = ""
                var n: Int64 = 0
                while let (field, v) = try valueReader.next() {
                    if field == 1 { name = v.string ?? name }
                    if field == 2 { n = v.integer.map { Int64(Int32(truncatingIfNeeded: $0)) } ?? n }
                }
                type.values.append((name, n))
            default: continue
            }
        }
        enums[type.fullName] = type
    }

    private mutating func readService(
        _ bytes: ArraySlice<UInt8>,
        scope: String,
        file: String
    ) throws(ProtoReader.Malformed) {
        var service = Service(fullName: "", file: file)
        var reader = ProtoReader(bytes)
        while let (number, value) = try reader.next() {
            switch number {
            case 1: service.fullName = scope + (value.string ?? "")
            case 2:
                guard let body = value.message else { continue }
                var method = Method(
                    name: "",
                    inputType: "",
                    outputType: "",
                    clientStreaming: false,
                    serverStreaming: false
                )
                var methodReader = ProtoReader(body)
                while let (field, v) = try methodReader.next() {
                    switch field {
                    case 1: method.name = v.string ?? ""
                    case 2: method.inputType = Self.typeName(v.string)
                    case 3: method.outputType = Self.typeName(v.string)
                    case 5: method.clientStreaming = v.integer == 1
                    case 6: method.serverStreaming = v.integer == 1
                    default: continue
                    }
                }
                service.methods.append(method)
            default: continue
            }
        }
        services[service.fullName] = service
    }

    private static func typeName(_ text: String?) -> String {
        guard let text else { return "" }
        return text.hasPrefix(".") ? String(text.dropFirst()) : text
    }
}
