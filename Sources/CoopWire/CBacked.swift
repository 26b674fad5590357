internal import CCoopProto
internal import CProtobufC

/// A generated Swift message type and its protobuf-c struct. Internal: C types never leave CoopWire.
protocol CBacked: WireMessage {
    associatedtype CType
    static func cInit(_ c: UnsafeMutablePointer<CType>)
    static func cPackedSize(_ c: UnsafePointer<CType>) -> Int
    static func cPack(_ c: UnsafePointer<CType>, _ out: UnsafeMutablePointer<UInt8>) -> Int
    static func cUnpack(_ count: Int, _ bytes: UnsafePointer<UInt8>) -> UnsafeMutablePointer<CType>?
    static func cFree(_ c: UnsafeMutablePointer<CType>)
    /// Copies an unpacked C message into a Swift value.
    init(c: UnsafePointer<CType>) throws
    /// Writes the value into an initialized C message; every pointer it stores comes from `arena`.
    func fill(_ c: UnsafeMutablePointer<CType>, arena: Arena)
    /// The message read without protobuf-c (``FastDecode``), or `nil` when the fast reader does not handle these
    /// bytes (then protobuf-c decodes them). Must never accept bytes protobuf-c refuses, nor give another value.
    static func fastDecode(_ bytes: UnsafeRawBufferPointer) -> Self?
}

extension CBacked {
    static func fastDecode(_ bytes: UnsafeRawBufferPointer) -> Self? { nil }
}

/// Encoding and decoding through protobuf-c.
enum WireCodec {
    static func decode<M: CBacked>(_ type: M.Type, from bytes: UnsafeRawBufferPointer) throws -> M {
        if let fast = M.fastDecode(bytes) { return fast }
        return try referenceDecode(type, from: bytes)
    }

    /// Decodes with protobuf-c alone (after the diagnostics walk): the reference ``FastDecode`` is held to.
    static func referenceDecode<M: CBacked>(_ type: M.Type, from bytes: UnsafeRawBufferPointer) throws -> M {
        if let problem = WireDiagnostics.problem(messageName: M.protoName, bytes: bytes) {
            let code: WireError.Code =
                problem.hasSuffix("not valid UTF-8") ? .invalidUTF8 : .malformed
            throw WireError(code: code, message: problem)
        }
        var empty: UInt8 = 0
        let unpacked = withUnsafePointer(to: &empty) { emptyInput in
            M.cUnpack(bytes.count, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? emptyInput)
        }
        guard let c = unpacked else {
            throw WireDiagnostics.explain(messageName: M.protoName, bytes: bytes)
        }
        defer { M.cFree(c) }
        return try M(c: c)
    }

    static func encode<M: CBacked>(_ message: M) -> [UInt8] {
        let arena = Arena()
        return withExtendedLifetime(arena) {
            let c = arena.message(message)
            let size = M.cPackedSize(c)
            guard size > 0 else { return [] }
            return [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                count = M.cPack(c, buffer.baseAddress!)
            }
        }
    }
}

/// Reading C values into Swift values.
enum CConvert {
    static func string(_ p: UnsafePointer<CChar>?, field: StaticString) throws -> String {
        guard let p else { return "" }
        guard let s = String(validatingCString: p) else {
            throw WireError(code: .invalidUTF8, message: "\(field): string is not valid UTF-8")
        }
        return s
    }

    static func string(_ p: UnsafeMutablePointer<CChar>?, field: StaticString) throws -> String {
        try string(UnsafePointer(p), field: field)
    }

    static func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        guard data.len > 0, let p = data.data else { return [] }
        return [UInt8](UnsafeBufferPointer(start: p, count: data.len))
    }

    static func enumeration<E: WireEnum, Raw: BinaryInteger>(
        _ raw: Raw,
        as type: E.Type,
        field: StaticString
    ) throws -> E {
        let value = Int32(truncatingIfNeeded: raw)
        guard let e = E(rawValue: value) else {
            throw WireError(
                code: .unknownEnumValue,
                message: "\(field): \(value) is not a value of \(E.protoName)"
            )
        }
        return e
    }

    static func repeated<C, S>(
        _ p: UnsafeMutablePointer<C>?,
        count: Int,
        _ convert: (C) throws -> S
    ) throws -> [S] {
        guard count > 0, let p else { return [] }
        var out: [S] = []
        out.reserveCapacity(count)
        for i in 0..<count {
            out.append(try convert(p[i]))
        }
        return out
    }
}
