import Crypto
import Testing

@testable import CoopLedger

/// The one-shot SHA-256 (the processor's SHA extensions, or swift-crypto) gives swift-crypto's digests.
@Suite("SHA-256 in one call")
struct SHA256OneShotTests {
    static func reference(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }

    @Test("the FIPS 180-4 examples")
    func vectors() {
        let cases: [(String, String)] = [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
        ]
        for (text, hex) in cases {
            #expect(EntryID(digestOf: Array(text.utf8)).hex == hex, "\(text)")
            #expect(Array(text.utf8).withUnsafeBytes { SHA256OneShot.library($0) }.hex == hex)
        }
    }

    @Test(
        "the instructions agree with swift-crypto at every length to 300 bytes and at random lengths to 5,000",
        .enabled(if: SHA256OneShot.usesInstruction, "this processor has no SHA extensions")
    )
    func instructionAgrees() {
        var g = SplitMix64(seed: 256)
        let lengths = Array(0...300) + (0..<200).map { _ in Int(g.next() % 5001) }
        for length in lengths {
            let bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: g.next()) }
            // At an odd offset too: the instructions' loads must not need alignment.
            let shifted = [0x5A] + bytes
            let expected = Self.reference(bytes)
            #expect(bytes.withUnsafeBytes { SHA256OneShot.instruction($0) }.bytes == expected, "length \(length)")
            #expect(
                shifted.withUnsafeBytes { SHA256OneShot.instruction(UnsafeRawBufferPointer(rebasing: $0[1...])) }.bytes
                    == expected,
                "length \(length), unaligned"
            )
            #expect(EntryID(digestOf: bytes).bytes == expected)
        }
    }
}
