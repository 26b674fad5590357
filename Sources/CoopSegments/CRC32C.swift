import CCoopCRC32C

/// CRC-32C (Castagnoli): reflected polynomial 0x82F63B78, initial value and final XOR 0xFFFFFFFF.
///
/// A value type with no shared state; safe to use from any thread. The lookup tables are built once, on first use,
/// and are immutable afterwards. Where the processor has a CRC-32C instruction it is used (a C function in
/// `CCoopCRC32C`); otherwise the loop is table-driven "slicing-by-8" (eight bytes per step).
///
/// ```swift
/// CRC32C.checksum(Array("123456789".utf8))  // 0xE3069283
///
/// var crc = CRC32C()
/// crc.update(header)
/// crc.update(payload)
/// crc.value
/// ```
public struct CRC32C: Hashable, Sendable {
    /// The checksum of everything passed to `update` so far (0 for no bytes).
    public private(set) var value: UInt32

    /// A checksum of no bytes.
    public init() {
        self.value = 0
    }

    /// Adds `bytes` to the checksum.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        value = Self.update(value, bytes)
    }

    /// Adds `bytes` to the checksum.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The CRC-32C of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        update(0, bytes)
    }

    /// The CRC-32C of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { update(0, $0) }
    }

    /// Continues the checksum `crc` (a finished CRC-32C value, 0 for no bytes) over `bytes`.
    ///
    /// With the processor's CRC-32C instruction where it has one (``usesInstruction``), else with the tables.
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard let pointer = bytes.baseAddress, !bytes.isEmpty else { return crc }
        if usesInstruction { return ~coop_crc32c_hw_update(~crc, pointer, bytes.count) }
        return tableUpdate(crc, bytes)
    }

    /// Whether ``update(_:_:)-(UInt32,_)`` uses the processor's CRC-32C instruction: SSE 4.2 on x86-64 (checked at
    /// run time); on AArch64 only when the compiler targets the CRC extension (`__ARM_FEATURE_CRC32`).
    public static let usesInstruction = coop_crc32c_hw_available() != 0

    /// ``update(_:_:)-(UInt32,_)`` with the lookup tables alone (the portable path; tests compare the two).
    public static func tableUpdate(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        guard var pointer = bytes.baseAddress, !bytes.isEmpty else { return crc }
        var remaining = bytes.count
        var c = ~crc
        tables.withUnsafeBufferPointer { t in
            while remaining >= 8 {
                let word = pointer.loadUnaligned(as: UInt64.self).littleEndian ^ UInt64(c)
                c =
                    t[0x700 | Int(truncatingIfNeeded: word & 0xFF)]
                    ^ t[0x600 | Int(truncatingIfNeeded: (word &>> 8) & 0xFF)]
                    ^ t[0x500 | Int(truncatingIfNeeded: (word &>> 16) & 0xFF)]
                    ^ t[0x400 | Int(truncatingIfNeeded: (word &>> 24) & 0xFF)]
                    ^ t[0x300 | Int(truncatingIfNeeded: (word &>> 32) & 0xFF)]
                    ^ t[0x200 | Int(truncatingIfNeeded: (word &>> 40) & 0xFF)]
                    ^ t[0x100 | Int(truncatingIfNeeded: (word &>> 48) & 0xFF)]
                    ^ t[Int(truncatingIfNeeded: word &>> 56)]
                pointer += 8
                remaining -= 8
            }
            while remaining > 0 {
                let byte = pointer.load(as: UInt8.self)
                c = t[Int(truncatingIfNeeded: (c ^ UInt32(byte)) & 0xFF)] ^ (c &>> 8)
                pointer += 1
                remaining -= 1
            }
        }
        return ~c
    }

    /// The CRC-32C of `a + b` from the CRC-32C of `a`, the CRC-32C of `b` and `b`'s length, without the bytes
    /// (as zlib's `crc32_combine`). Costs O(log `countB`).
    public static func combine(_ crcA: UInt32, _ crcB: UInt32, countB: Int) -> UInt32 {
        shift(crcA, byteCount: countB) ^ crcB
    }

    /// `crc` multiplied by x^(8 * byteCount) modulo the polynomial: what `crc` contributes after `byteCount`
    /// more bytes.
    static func shift(_ crc: UInt32, byteCount: Int) -> UInt32 {
        var n = UInt64(byteCount)
        var k = 3  // x^(8n) = x^(2^3 * n)
        var factor: UInt32 = 1 << 31  // x^0
        while n != 0 {
            if n & 1 != 0 {
                factor = multiplyModP(powers[k], factor)
            }
            n >>= 1
            k += 1
        }
        return multiplyModP(factor, crc)
    }

    /// a * b modulo the polynomial, both in reflected bit order.
    private static func multiplyModP(_ a: UInt32, _ b: UInt32) -> UInt32 {
        var a = a
        var b = b
        var product: UInt32 = 0
        while a != 0 {
            if a & (1 << 31) != 0 {
                product ^= b
            }
            a <<= 1
            b = (b & 1) != 0 ? (b &>> 1) ^ polynomial : b &>> 1
        }
        return product
    }

    /// powers[k] = x^(2^k) modulo the polynomial, reflected.
    private static let powers: [UInt32] = {
        var table: [UInt32] = [1 << 30]  // x^1
        for _ in 1..<72 {
            table.append(multiplyModP(table[table.count - 1], table[table.count - 1]))
        }
        return table
    }()

    private static let polynomial: UInt32 = 0x82F6_3B78

    /// Eight 256-entry tables, one after the other: table k advances a byte through k further zero bytes.
    private static let tables: [UInt32] = {
        var t = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 {
                c = (c & 1) != 0 ? (c &>> 1) ^ polynomial : c &>> 1
            }
            t[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let previous = t[(k - 1) * 256 + i]
                t[k * 256 + i] = (previous &>> 8) ^ t[Int(previous & 0xFF)]
            }
        }
        return t
    }()
}
