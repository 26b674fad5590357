import CoopSegments
import Testing

@Suite("CRC-32C")
struct CRC32CTests {
    static let vectors: [(bytes: [UInt8], crc: UInt32)] = [
        ([], 0x0000_0000),
        (Array("123456789".utf8), 0xE306_9283),
        ([UInt8](repeating: 0, count: 32), 0x8A91_36AA),
        ([UInt8](repeating: 0xFF, count: 32), 0x62A8_AB43),
        ((0..<32).map { UInt8($0) }, 0x46DD_794E),
        ((0..<32).reversed().map { UInt8($0) }, 0x113F_DB5C),
        (Array("The quick brown fox jumps over the lazy dog".utf8), 0x2262_0404),
        (Array("a".utf8), 0xC1D0_4330),
    ]

    @Test("known vectors", arguments: vectors)
    func vector(bytes: [UInt8], expected: UInt32) {
        #expect(CRC32C.checksum(bytes) == expected)
    }

    @Test("an iSCSI read command PDU (RFC 3720, B.4)")
    func iscsi() {
        var pdu = [UInt8](repeating: 0, count: 48)
        pdu[0] = 0x01
        pdu[1] = 0xC0
        pdu[16] = 0x14
        pdu[22] = 0x04
        pdu[27] = 0x14
        pdu[31] = 0x18
        pdu[32] = 0x28
        pdu[40] = 0x02
        #expect(CRC32C.checksum(pdu) == 0xD996_3A56)
    }

    @Test("slicing-by-8 agrees with a bit-at-a-time reference at every length and alignment")
    func matchesReference() {
        var random = SeededGenerator(seed: 0xC0FF_EE01)
        let data = random.bytes(600)
        for start in 0..<9 {
            for end in stride(from: start, through: data.count, by: 7) {
                let slice = Array(data[start..<end])
                #expect(CRC32C.checksum(slice) == reference(slice), "bytes \(start)..<\(end)")
            }
        }
    }

    @Test("the table path and the instruction path agree with the reference at every length and alignment")
    func bothPaths() {
        var random = SeededGenerator(seed: 0xC0FF_EE02)
        let data = random.bytes(300)
        data.withUnsafeBytes { all in
            for start in 0..<9 {
                for end in start...data.count {
                    let slice = UnsafeRawBufferPointer(rebasing: all[start..<end])
                    let expected = reference(Array(slice))
                    #expect(CRC32C.tableUpdate(0, slice) == expected, "tables, bytes \(start)..<\(end)")
                    #expect(CRC32C.update(0, slice) == expected, "bytes \(start)..<\(end)")
                    // Continuing a finished value: the inversions at both ends must match the tables'.
                    let head = UnsafeRawBufferPointer(rebasing: all[0..<start])
                    #expect(
                        CRC32C.update(CRC32C.tableUpdate(0, head), slice)
                            == CRC32C.tableUpdate(0, UnsafeRawBufferPointer(rebasing: all[0..<end]))
                    )
                }
            }
        }
        for (bytes, crc) in Self.vectors {
            #expect(bytes.withUnsafeBytes { CRC32C.tableUpdate(0, $0) } == crc)
        }
    }

    #if arch(x86_64)
    @Test("x86-64 processors since 2008 have SSE 4.2: the instruction is used")
    func instructionUsed() {
        #expect(CRC32C.usesInstruction)
    }
    #endif

    @Test("updating in pieces gives the one-shot checksum")
    func streaming() {
        var random = SeededGenerator(seed: 7)
        let data = random.bytes(1000)
        for cut in [0, 1, 7, 8, 9, 500, 999, 1000] {
            var crc = CRC32C()
            crc.update(Array(data[..<cut]))
            crc.update(Array(data[cut...]))
            #expect(crc.value == CRC32C.checksum(data))
        }
        #expect(CRC32C().value == 0)
    }

    @Test("combine gives the checksum of the concatenation")
    func combine() {
        var random = SeededGenerator(seed: 99)
        for _ in 0..<50 {
            let a = random.bytes(Int.random(in: 0..<300, using: &random))
            let b = random.bytes(Int.random(in: 0..<3000, using: &random))
            let combined = CRC32C.combine(CRC32C.checksum(a), CRC32C.checksum(b), countB: b.count)
            #expect(combined == CRC32C.checksum(a + b))
        }
    }

    /// The textbook bitwise CRC-32C.
    private func reference(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1
            }
        }
        return ~crc
    }
}
