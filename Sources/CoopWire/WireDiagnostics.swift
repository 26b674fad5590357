internal import CProtobufC

/// Explains why bytes are not a valid encoding of a message type.
///
/// protobuf-c only says "no" when unpacking fails; this walks the bytes with the type's descriptor to name
/// the first problem: the field, its wire type and the byte offset.
enum WireDiagnostics {
    /// The first encoding problem protobuf-c would not report (a NUL inside a string, which protobuf-c's C
    /// strings silently cut; a singular message field given twice, which protobuf-c does not merge), or a
    /// structural problem; `nil` when the bytes are fine to unpack.
    static func problem(messageName: String, bytes: UnsafeRawBufferPointer) -> String? {
        guard let d = MessageRegistry.descriptors[messageName] else { return nil }
        let b = UnsafeBufferPointer(start: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self), count: bytes.count)
        return walk(b, from: 0, to: b.count, descriptor: d, path: { messageName }, depth: 0)
    }

    static func explain(messageName: String, bytes: UnsafeRawBufferPointer) -> WireError {
        let bytes = UnsafeBufferPointer(
            start: bytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
            count: bytes.count
        )
        let problem: String?
        if let d = MessageRegistry.descriptors[messageName] {
            problem = walk(bytes, from: 0, to: bytes.count, descriptor: d, path: { messageName }, depth: 0)
        } else {
            problem = nil
        }
        return WireError(
            code: .malformed,
            message: problem
                ?? "\(messageName): \(bytes.count) bytes are not a valid encoding (protobuf-c refused them)"
        )
    }

    private static func varint(_ b: UnsafeBufferPointer<UInt8>, _ i: inout Int, end: Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while i < end && shift < 70 {
            let byte = b[i]
            i += 1
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
        return nil
    }

    private static func wireTypeName(_ t: UInt64) -> String {
        switch t {
        case 0: "0 (varint)"
        case 1: "1 (64-bit)"
        case 2: "2 (length-delimited)"
        case 5: "5 (32-bit)"
        default: "\(t)"
        }
    }

    private static func expectedWireType(_ type: ProtobufCType) -> UInt64 {
        switch type {
        case PROTOBUF_C_TYPE_SFIXED64, PROTOBUF_C_TYPE_FIXED64, PROTOBUF_C_TYPE_DOUBLE: 1
        case PROTOBUF_C_TYPE_SFIXED32, PROTOBUF_C_TYPE_FIXED32, PROTOBUF_C_TYPE_FLOAT: 5
        case PROTOBUF_C_TYPE_STRING, PROTOBUF_C_TYPE_BYTES, PROTOBUF_C_TYPE_MESSAGE: 2
        default: 0
        }
    }

    /// Records field `number` as seen; false when it was seen before.
    private static func firstOccurrence(_ number: UInt64, _ mask: inout UInt64, _ more: inout Set<UInt64>) -> Bool {
        guard number < 64 else { return more.insert(number).inserted }
        defer { mask |= 1 << number }
        return mask & (1 << number) == 0
    }

    /// The first problem in `b[start..<end]` read as `descriptor`, or `nil`.
    private static func walk(
        _ b: UnsafeBufferPointer<UInt8>,
        from start: Int,
        to end: Int,
        descriptor: MessageDescriptor,
        path: () -> String,
        depth: Int
    ) -> String? {
        guard depth < 64 else { return "\(path()): nested more than 64 levels deep" }
        var i = start
        var singularMessages: UInt64 = 0  // bit n: field n (< 64) seen; larger numbers in `moreMessages`
        var moreMessages: Set<UInt64> = []
        while i < end {
            let keyOffset = i
            guard let key = varint(b, &i, end: end) else {
                return "\(path()): truncated field key at byte \(keyOffset)"
            }
            let number = key >> 3
            let wireType = key & 7
            guard number > 0 && number < (1 << 29) else {
                return "\(path()): invalid field number \(number) at byte \(keyOffset)"
            }
            let field = descriptor.field(number: UInt32(number))
            // Built only for an error message: this walk runs on every decode.
            var fieldName: String {
                field.map { "\(path()).\(String(cString: $0.pointee.name))" } ?? "\(path()) field \(number)"
            }
            if let field {
                let expected = expectedWireType(field.pointee.type)
                let packedOK = field.pointee.label == PROTOBUF_C_LABEL_REPEATED && wireType == 2 && expected != 2
                if wireType != expected && !packedOK {
                    return "\(fieldName) (field \(number)) at byte \(keyOffset): wire type \(wireTypeName(wireType)), "
                        + "expected \(wireTypeName(expected))"
                }
            }
            switch wireType {
            case 0:
                let at = i
                guard varint(b, &i, end: end) != nil else {
                    return "\(fieldName) at byte \(at): truncated varint"
                }
            case 1, 5:
                let size = wireType == 1 ? 8 : 4
                guard end - i >= size else {
                    return "\(fieldName) at byte \(i): needs \(size) bytes, \(end - i) left"
                }
                i += size
            case 2:
                let at = i
                guard let length = varint(b, &i, end: end) else {
                    return "\(fieldName) at byte \(at): truncated length prefix"
                }
                guard length <= UInt64(end - i) else {
                    return "\(fieldName) at byte \(at): length \(length) runs past the end (\(end - i) bytes left)"
                }
                let bodyStart = i
                i += Int(length)
                if let field {
                    if field.pointee.type == PROTOBUF_C_TYPE_MESSAGE && field.pointee.label != PROTOBUF_C_LABEL_REPEATED
                        && !firstOccurrence(number, &singularMessages, &moreMessages)
                    {
                        return "\(fieldName) at byte \(keyOffset): a singular message field given twice "
                            + "(ambiguous: protobuf-c does not merge them)"
                    }
                    if field.pointee.type == PROTOBUF_C_TYPE_MESSAGE,
                        let sub = field.pointee.descriptor?.assumingMemoryBound(to: ProtobufCMessageDescriptor.self)
                    {
                        if let p = walk(
                            b,
                            from: bodyStart,
                            to: i,
                            descriptor: MessageDescriptor(pointer: sub),
                            path: { fieldName },
                            depth: depth + 1
                        ) {
                            return p
                        }
                    } else if field.pointee.type == PROTOBUF_C_TYPE_STRING {
                        let slice = UnsafeBufferPointer(rebasing: b[bodyStart..<i])
                        if String(validating: slice, as: UTF8.self) == nil {
                            return "\(fieldName) at byte \(bodyStart): string is not valid UTF-8"
                        }
                        if slice.contains(0) {
                            return "\(fieldName) at byte \(bodyStart): string contains a NUL character"
                        }
                    }
                }
            case 3, 4:
                return "\(fieldName) at byte \(keyOffset): group wire type \(wireType) is not supported"
            default:
                return "\(fieldName) at byte \(keyOffset): invalid wire type \(wireType)"
            }
        }
        return nil
    }
}
