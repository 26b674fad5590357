/// A decoder for the messages every log record carries (`SignedEntry`, `EntryBody` and the messages inside it) that
/// reads their encoding directly, without protobuf-c's unpack (a `malloc` per message and field) or the diagnostics
/// walk.
///
/// It handles only the plain layout writers produce: known fields, each at most once and in field-number order (the
/// repeated `parents` together), at most one `payload`, one-byte keys and varints no longer than the field's values
/// need. For anything else it answers `nil` and the caller decodes with protobuf-c, which stays the reference: on
/// every input this reader accepts, protobuf-c (with ``WireDiagnostics``) accepts too and gives the same value
/// (`FastDecodeTests` compares both on random and malformed inputs). Pure functions; any thread.
enum FastDecode {
    /// A cursor over encoded bytes.
    struct Reader {
        let base: UnsafePointer<UInt8>
        var index: Int
        let end: Int

        init?(_ bytes: UnsafeRawBufferPointer) {
            guard let base = bytes.baseAddress else { return nil }
            self.base = base.assumingMemoryBound(to: UInt8.self)
            index = 0
            end = bytes.count
        }

        init(base: UnsafePointer<UInt8>, range: Range<Int>) {
            self.base = base
            index = range.lowerBound
            end = range.upperBound
        }

        var atEnd: Bool { index >= end }

        mutating func byte() -> UInt8? {
            guard index < end else { return nil }
            defer { index += 1 }
            return base[index]
        }

        /// A varint of at most `maxBytes` bytes (all of its bits kept: `maxBytes` ≤ 9), or `nil`.
        mutating func varint(maxBytes: Int) -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            var count = 0
            while index < end && count < maxBytes {
                let byte = base[index]
                index += 1
                count += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }

        /// A varint for a 64-bit field: up to 9 bytes (values below 2^63; longer ones go to protobuf-c).
        mutating func uint64() -> UInt64? { varint(maxBytes: 9) }

        /// A varint for a 32-bit field: up to 5 bytes and a value that fits (protobuf-c keeps the low 32 bits of
        /// longer ones; those go to protobuf-c).
        mutating func uint32() -> UInt32? {
            guard let v = varint(maxBytes: 5), v <= UInt64(UInt32.max) else { return nil }
            return UInt32(v)
        }

        /// The range of a length-delimited field's bytes (length prefix of at most 5 bytes, as protobuf-c reads it).
        mutating func delimited() -> Range<Int>? {
            guard let length = varint(maxBytes: 5), length <= UInt64(end - index) else { return nil }
            let start = index
            index += Int(length)
            return start..<index
        }

        /// A string field: valid UTF-8 without NUL (what ``WireDiagnostics`` and `CConvert.string` accept).
        mutating func string() -> String? {
            guard let range = delimited() else { return nil }
            let buffer = UnsafeBufferPointer(start: base + range.lowerBound, count: range.count)
            if Self.containsZero(UnsafeRawBufferPointer(buffer)) { return nil }
            // Decoding repairs invalid UTF-8 (each bad sequence becomes U+FFFD), so the bytes are valid UTF-8 exactly
            // when decoding gives them back. (`String(validating:as:)` is the same check, but unspecialized: a
            // metadata lookup per call.) Compared over the string's contiguous UTF-8; comparing
            // through `String.UTF8View`'s iterator took a twentieth of replay's time, byte by byte a twentieth still.
            let text = String(decoding: buffer, as: UTF8.self)
            guard text.utf8.count == buffer.count else { return nil }
            let same =
                text.utf8.withContiguousStorageIfAvailable { Self.equal(UnsafeRawBufferPointer($0), .init(buffer)) }
                ?? text.utf8.elementsEqual(buffer)
            return same ? text : nil
        }

        /// Whether `bytes` holds a zero byte, looked for eight bytes at a time (a word has one exactly when
        /// `(w - 0x01…01) & ~w & 0x80…80` is not zero).
        static func containsZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
            var i = 0
            while i + 8 <= bytes.count {
                let w = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if (w &- 0x0101_0101_0101_0101) & ~w & 0x8080_8080_8080_8080 != 0 { return true }
                i += 8
            }
            while i < bytes.count {
                if bytes[i] == 0 { return true }
                i += 1
            }
            return false
        }

        /// Whether two buffers of the same length hold the same bytes, compared eight at a time.
        static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
            guard a.count == b.count else { return false }
            var i = 0
            while i + 8 <= a.count {
                if a.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    != b.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                {
                    return false
                }
                i += 8
            }
            while i < a.count {
                if a[i] != b[i] { return false }
                i += 1
            }
            return true
        }

        mutating func bytes() -> [UInt8]? {
            guard let range = delimited() else { return nil }
            return [UInt8](UnsafeBufferPointer(start: base + range.lowerBound, count: range.count))
        }

        /// A nested message's reader.
        mutating func nested() -> Reader? {
            guard let range = delimited() else { return nil }
            return Reader(base: base, range: range)
        }
    }

    /// Reads fields in increasing key order: `field` returns `false` for a key it does not handle (the decoder gives
    /// up) and is given each key only when it is above the previous one (or the same, when `repeatable` says so).
    @inline(__always)
    static func fields(
        _ r: inout Reader,
        repeatable: UInt8 = 0,
        _ field: (UInt8, inout Reader) -> Bool
    ) -> Bool {
        var last: UInt8 = 0
        while !r.atEnd {
            guard let key = r.byte(), key < 0x80, key > last || (key == last && key == repeatable) else { return false }
            guard field(key, &r) else { return false }
            last = key
        }
        return true
    }

    static func signedEntry(_ bytes: UnsafeRawBufferPointer) -> SignedEntry? {
        whole(bytes) { r in
            var m = SignedEntry()
            let ok = fields(&r) { key, r in
                switch key {
                case 0x0A: if let v = r.bytes() { m.body = v } else { return false }
                case 0x12: if let v = r.bytes() { m.signature = v } else { return false }
                default: return false
                }
                return true
            }
            return ok ? m : nil
        }
    }

    static func entryBody(_ bytes: UnsafeRawBufferPointer) -> EntryBody? { whole(bytes, entryBody) }

    /// ``entryBody(_:)``, with `previous` checked as always but left empty unless `keepingPrevious`.
    static func entryBody(_ bytes: UnsafeRawBufferPointer, keepingPrevious: Bool) -> EntryBody? {
        whole(bytes) { entryBody(&$0, keepingPrevious: keepingPrevious) }
    }

    static func entryBody(_ r: inout Reader) -> EntryBody? { entryBody(&r, keepingPrevious: true) }

    static func entryBody(_ r: inout Reader, keepingPrevious: Bool) -> EntryBody? {
        var m = EntryBody()
        let ok = fields(&r, repeatable: 0x2A) { key, r in
            switch key {
            case 0x0A: if let v = r.string() { m.origin = v } else { return false }
            case 0x10: if let v = r.uint64() { m.sequence = v } else { return false }
            case 0x1A:
                if !keepingPrevious {
                    if r.delimited() == nil { return false }
                } else if let v = r.bytes() {
                    m.previous = v
                } else {
                    return false
                }
            case 0x22:
                guard var n = r.nested(), let v = timestamp(&n) else { return false }
                m.timestamp = v
            case 0x2A: if let v = r.bytes() { m.parents.append(v) } else { return false }
            // One payload at most: a second one (ordered after the first) has a key above 0x62 no case takes.
            case 0x52:
                guard m.payload == nil, var n = r.nested(), let v = statusUpdate(&n) else { return false }
                m.payload = .statusUpdate(v)
            case 0x5A:
                guard m.payload == nil, var n = r.nested(), let v = comment(&n) else { return false }
                m.payload = .comment(v)
            case 0x62:
                guard m.payload == nil, var n = r.nested(), let v = signOff(&n) else { return false }
                m.payload = .signOff(v)
            default: return false
            }
            return true
        }
        return ok ? m : nil
    }

    static func timestamp(_ r: inout Reader) -> HybridTimestamp? {
        var m = HybridTimestamp()
        let ok = fields(&r) { key, r in
            switch key {
            case 0x08: if let v = r.uint64() { m.wallMs = v } else { return false }
            case 0x10: if let v = r.uint32() { m.logical = v } else { return false }
            default: return false
            }
            return true
        }
        return ok ? m : nil
    }

    static func statusUpdate(_ r: inout Reader) -> StatusUpdate? {
        var m = StatusUpdate()
        let ok = fields(&r) { key, r in
            switch key {
            case 0x0A: if let v = r.string() { m.itemId = v } else { return false }
            case 0x10:
                guard let raw = r.uint32(), raw <= UInt32(Int32.max), let v = ItemStatus(rawValue: Int32(raw)) else {
                    return false
                }
                m.status = v
            case 0x18: if let v = r.uint32() { m.progress = v } else { return false }
            case 0x22: if let v = r.string() { m.note = v } else { return false }
            case 0x2A: if let v = r.string() { m.reporter = v } else { return false }
            case 0x32: if let v = r.string() { m.assignee = v } else { return false }
            default: return false
            }
            return true
        }
        return ok ? m : nil
    }

    static func comment(_ r: inout Reader) -> Comment? {
        var m = Comment()
        let ok = fields(&r) { key, r in
            switch key {
            case 0x0A: if let v = r.string() { m.itemId = v } else { return false }
            case 0x12: if let v = r.string() { m.text = v } else { return false }
            case 0x1A: if let v = r.string() { m.author = v } else { return false }
            default: return false
            }
            return true
        }
        return ok ? m : nil
    }

    static func signOff(_ r: inout Reader) -> SignOff? {
        var m = SignOff()
        let ok = fields(&r) { key, r in
            switch key {
            case 0x0A: if let v = r.string() { m.itemId = v } else { return false }
            case 0x12: if let v = r.bytes() { m.entryId = v } else { return false }
            case 0x1A: if let v = r.string() { m.signer = v } else { return false }
            case 0x22: if let v = r.string() { m.note = v } else { return false }
            default: return false
            }
            return true
        }
        return ok ? m : nil
    }
}

extension SignedEntry {
    static func fastDecode(_ bytes: UnsafeRawBufferPointer) -> SignedEntry? { FastDecode.signedEntry(bytes) }
}

extension EntryBody {
    static func fastDecode(_ bytes: UnsafeRawBufferPointer) -> EntryBody? { FastDecode.entryBody(bytes) }

    /// Decodes `bytes` as ``init(wireBytes:)`` does (the same bytes refused, with the same errors), but leaves
    /// ``previous`` empty unless `keepingPrevious`: replay (`LedgerReplay`), which never reads it, saves an
    /// allocation and a copy per entry. (A node's first open does read it, to check each origin's chain.)
    package static func decode(_ bytes: UnsafeRawBufferPointer, keepingPrevious: Bool) throws -> EntryBody {
        if let body = FastDecode.entryBody(bytes, keepingPrevious: keepingPrevious) { return body }
        // The fast reader declined these bytes: protobuf-c decides, as ``init(wireBytes:)`` would next.
        var body = try WireCodec.referenceDecode(EntryBody.self, from: bytes)
        if !keepingPrevious { body.previous = [] }
        return body
    }
}

extension HybridTimestamp {
    static func fastDecode(_ bytes: UnsafeRawBufferPointer) -> HybridTimestamp? {
        FastDecode.whole(bytes, FastDecode.timestamp)
    }
}

extension StatusUpdate {
    static func fastDecode(_ bytes: UnsafeRawBufferPointer) -> StatusUpdate? {
        FastDecode.whole(bytes, FastDecode.statusUpdate)
    }
}

extension Comment {
    static func fastDecode(_ bytes: UnsafeRawBufferPointer) -> Comment? { FastDecode.whole(bytes, FastDecode.comment) }
}

extension SignOff {
    static func fastDecode(_ bytes: UnsafeRawBufferPointer) -> SignOff? { FastDecode.whole(bytes, FastDecode.signOff) }
}

extension FastDecode {
    /// `decode` over all of `bytes`.
    static func whole<M: WireMessage>(_ bytes: UnsafeRawBufferPointer, _ decode: (inout Reader) -> M?) -> M? {
        guard var r = Reader(bytes) else { return bytes.isEmpty ? M() : nil }
        return decode(&r)
    }
}
