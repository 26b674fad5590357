/// Reads the protobuf wire format field by field: just enough to decode a `google.protobuf.FileDescriptorSet` that a
/// server sends (no Swift type exists for it here). Every read is bounds-checked; bytes from a server that are not a
/// valid encoding throw ``Malformed`` instead of trapping. A value; not shared between threads.
struct ProtoReader {
    /// Why bytes are not a valid encoding.
    struct Malformed: Error, CustomStringConvertible {
        var description: String
    }

    /// One field's value as the wire carries it.
    enum Value {
        case varint(UInt64)
        case bytes(ArraySlice<UInt8>)
        /// A fixed32 or fixed64 value (not used by the descriptor fields read here).
        case fixed
    }

    private let bytes: ArraySlice<UInt8>
    private var index: Int

    init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    /// The next field (number and value), or `nil` at the end.
    mutating func next() throws(Malformed) -> (number: Int, value: Value)? {
        guard index < bytes.endIndex else { return nil }
        let key = try varint()
        let number = Int(key >> 3)
        guard number > 0, number <= 536_870_911 else { throw Malformed(description: "field number \(number)") }
        switch key & 7 {
        case 0: return (number, .varint(try varint()))
        case 1: return (number, try skip(8))
        case 2:
            let length = try varint()
            guard length <= UInt64(bytes.endIndex - index) else {
                throw Malformed(description: "field \(number) is \(length) bytes long, past the end")
            }
            let start = index
            index += Int(length)
            return (number, .bytes(bytes[start..<index]))
        case 5: return (number, try skip(4))
        default: throw Malformed(description: "field \(number) has wire type \(key & 7), which descriptors do not use")
        }
    }

    private mutating func skip(_ count: Int) throws(Malformed) -> Value {
        guard bytes.endIndex - index >= count else { throw Malformed(description: "a fixed value past the end") }
        index += count
        return .fixed
    }

    private mutating func varint() throws(Malformed) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while index < bytes.endIndex {
            let byte = bytes[index]
            index += 1
            guard shift < 64 else { throw Malformed(description: "a varint longer than 10 bytes") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
        throw Malformed(description: "a varint past the end")
    }
}

extension ProtoReader.Value {
    /// The value as text (a string field), or `nil` when it is not length-delimited UTF-8.
    var string: String? {
        guard case .bytes(let slice) = self else { return nil }
        return String(validating: slice, as: UTF8.self)
    }

    /// The value as an integer (an int32, enum or bool field).
    var integer: Int64? {
        guard case .varint(let v) = self else { return nil }
        return Int64(bitPattern: v)
    }

    /// The value's bytes (an embedded message).
    var message: ArraySlice<UInt8>? {
        guard case .bytes(let slice) = self else { return nil }
        return slice
    }
}
