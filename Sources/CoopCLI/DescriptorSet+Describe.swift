/// Describing the types, services and methods of a ``DescriptorSet`` in `.proto` syntax, as `coop call … describe`
/// prints them.
extension DescriptorSet {
    /// What `symbol` names, in `.proto` syntax: a message type (with the enum types its fields use), an enum, a
    /// service, or a method (with its request type). `symbol` is a full name (`coop.v1.ItemState`, a leading dot
    /// allowed), a name unique without its package (`ItemState`), or a method as `coop call` takes it. `nil` when
    /// it names nothing.
    func describe(_ symbol: String) -> String? {
        let name = symbol.hasPrefix(".") ? String(symbol.dropFirst()) : symbol
        if let full = resolve(name, in: Array(messages.keys)), let message = messages[full] {
            return describe(message)
        }
        if let full = resolve(name, in: Array(enums.keys)), let type = enums[full] { return describe(type) }
        if let full = resolve(name, in: Array(services.keys)), let service = services[full] { return describe(service) }
        if let (service, method) = method(named: name) {
            var text = "// \(service.file)\n" + Self.signature(service.fullName, method) + "\n"
            if let input = messages[method.inputType] { text += "\n" + describe(input) }
            return text
        }
        return nil
    }

    /// The method `name` names (`coop.v1.Ledger/GetItem`, `/coop.v1.Ledger/GetItem`, `Ledger.GetItem`), if any.
    func method(named name: String) -> (Service, Method)? {
        guard let (serviceName, methodName) = MethodName.split(name),
            let full = resolve(serviceName, in: Array(services.keys)), let service = services[full],
            let method = service.methods.first(where: { $0.name == methodName })
        else { return nil }
        return (service, method)
    }

    /// `name` if it is a full name among `names`, else the one name among them it ends (after a dot).
    private func resolve(_ name: String, in names: [String]) -> String? {
        if names.contains(name) { return name }
        let matches = names.filter { $0.hasSuffix("." + name) }
        return matches.count == 1 ? matches[0] : nil
    }

    private func describe(_ message: Message) -> String {
        var lines = ["// \(message.file)", "message \(message.fullName) {"]
        var usedEnums: [String] = []
        var oneofOpen: Int64?
        for field in message.fields {
            let oneof = field.proto3Optional ? nil : field.oneofIndex
            if oneof != oneofOpen {
                if oneofOpen != nil { lines.append("  }") }
                if let oneof, oneof >= 0, oneof < message.oneofs.count {
                    lines.append("  oneof \(message.oneofs[Int(oneof)]) {")
                }
                oneofOpen = oneof
            }
            let indent = oneofOpen == nil ? "  " : "    "
            let label = field.label == 3 ? "repeated " : field.proto3Optional ? "optional " : ""
            let json = field.jsonName.isEmpty ? "" : "  // JSON \"\(field.jsonName)\""
            lines.append("\(indent)\(label)\(Self.typeName(field)) \(field.name) = \(field.number);\(json)")
            if field.type == 14, !usedEnums.contains(field.typeName) { usedEnums.append(field.typeName) }
        }
        if oneofOpen != nil { lines.append("  }") }
        lines.append("}")
        var text = lines.joined(separator: "\n") + "\n"
        for name in usedEnums {
            if let type = enums[name] { text += "\n" + describe(type) }
        }
        return text
    }

    private func describe(_ type: EnumType) -> String {
        var lines = ["// \(type.file)", "enum \(type.fullName) {"]
        for value in type.values { lines.append("  \(value.name) = \(value.number);") }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    private func describe(_ service: Service) -> String {
        var lines = ["// \(service.file)", "service \(service.fullName) {"]
        for method in service.methods { lines.append("  " + Self.signature(nil, method)) }
        lines.append("}")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `rpc Name(Request) returns (stream Response);`, with the service's name in front when given.
    static func signature(_ service: String?, _ method: Method) -> String {
        let name = service.map { "/\($0)/\(method.name)" } ?? method.name
        let input = (method.clientStreaming ? "stream " : "") + method.inputType
        let output = (method.serverStreaming ? "stream " : "") + method.outputType
        return "rpc \(name)(\(input)) returns (\(output));"
    }

    /// The `.proto` name of a field's type.
    private static func typeName(_ field: Field) -> String {
        switch field.type {
        case 1: "double"
        case 2: "float"
        case 3: "int64"
        case 4: "uint64"
        case 5: "int32"
        case 6: "fixed64"
        case 7: "fixed32"
        case 8: "bool"
        case 9: "string"
        case 10: "group " + field.typeName
        case 11, 14: field.typeName
        case 12: "bytes"
        case 13: "uint32"
        case 15: "sfixed32"
        case 16: "sfixed64"
        case 17: "sint32"
        case 18: "sint64"
        default: "type\(field.type)"
        }
    }
}
