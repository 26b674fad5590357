import CoopWire

/// A method as `coop call` takes it — `coop.v1.Ledger/GetItem`, `/coop.v1.Ledger/GetItem`, `Ledger/GetItem`,
/// `coop.v1.Ledger.GetItem` or `Ledger.GetItem` — resolved against the services a server lists.
enum MethodName {
    /// The service and method parts of `text`, or `nil` when it has no separator.
    static func split(_ text: String) -> (service: String, method: String)? {
        let trimmed = text.hasPrefix("/") ? String(text.dropFirst()) : text
        let separator = trimmed.lastIndex(of: "/") ?? trimmed.lastIndex(of: ".")
        guard let separator else { return nil }
        let service = String(trimmed[..<separator])
        let method = String(trimmed[trimmed.index(after: separator)...])
        guard !service.isEmpty, !method.isEmpty else { return nil }
        return (service, method)
    }

    /// The method of `services` that `text` names, or a ``ClientError`` saying what the server offers instead.
    static func resolve(_ text: String, in services: [ServiceInfo]) throws(ClientError) -> MethodInfo {
        guard let (serviceName, methodName) = split(text) else {
            throw ClientError(
                "\(CLIOutput.quoted(text)) is not a method; give SERVICE/METHOD, e.g. coop.v1.Ledger/GetItem "
                    + "(`coop call ENDPOINT` lists them)",
                exitCode: CLIOutput.usage
            )
        }
        let named = services.filter { $0.name == serviceName }
        let candidates = named.isEmpty ? services.filter { $0.name.hasSuffix("." + serviceName) } : named
        guard candidates.count == 1, let service = candidates.first else {
            let offered = services.map(\.name).joined(separator: ", ")
            let why =
                candidates.isEmpty ? "offers no service \(serviceName)" : "has several services named \(serviceName)"
            throw ClientError("the node \(why) (it offers: \(offered.isEmpty ? "none" : offered))")
        }
        if let method = service.methods.first(where: { $0.name == methodName }) { return method }
        let folded = service.methods.filter { $0.name.lowercased() == methodName.lowercased() }
        if folded.count == 1 { return folded[0] }
        throw ClientError(
            "\(service.name) has no method \(methodName) (it has: "
                + service.methods.map(\.name).joined(separator: ", ") + ")"
        )
    }
}
