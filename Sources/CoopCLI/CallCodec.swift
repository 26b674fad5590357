import CoopWire

/// JSON ⇄ protobuf for `coop call`, through ``ProtoJSON`` for the message types this build knows. A type the server
/// serves but this build does not know (a newer server) is a clear error, naming the type and how to see its fields.
enum CallCodec {
    /// The encoding of `json` as message type `type`, the request of `method`.
    static func encode(_ json: JSONValue, as type: String, method: String) throws(ClientError) -> [UInt8] {
        try requireKnown(type, method: method, role: "request")
        do {
            return try ProtoJSON.bytes(messageName: type, json: json)
        } catch {
            throw ClientError("the JSON is not a \(type) (the request of \(method)): \(Self.message(of: error))")
        }
    }

    /// The JSON of `bytes` decoded as message type `type`, the response of `method`.
    static func decode(_ bytes: [UInt8], as type: String, method: String) throws(ClientError) -> JSONValue {
        try requireKnown(type, method: method, role: "response")
        do {
            return try ProtoJSON.json(messageName: type, bytes: bytes)
        } catch {
            throw ClientError(
                "the answer of \(method) is not a valid \(type): \(Self.message(of: error))",
                exitCode: ClientExit.server
            )
        }
    }

    private static func requireKnown(_ type: String, method: String, role: String) throws(ClientError) {
        guard !MessageRegistry.messageNames.contains(type) else { return }
        throw ClientError(
            "the \(role) type \(type) of \(method) is not known to this build of coop (the node is newer); "
                + "`coop call ENDPOINT describe \(type)` shows its fields, but JSON for it needs a newer coop"
        )
    }

    private static func message(of error: any Error) -> String {
        (error as? WireError)?.message ?? "\(error)"
    }
}
