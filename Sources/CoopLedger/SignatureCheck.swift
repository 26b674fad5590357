import CSodium

/// Checks Ed25519 signatures with libsodium (`crypto_sign_verify_detached`), the fastest verifier on the machines
/// measured (≈ 1.3× swift-crypto; docs/BENCHMARKS.md §4) and already present as libzmq's CurveZMQ library.
///
/// **Threading.** Pure functions; thread-safe (verify on any number of threads at once).
///
/// libsodium's rules are stricter than RFC 8032's minimum, and every `coop` applies the same ones: besides a wrong
/// signature it refuses a non-canonical `S`, a public key or `R` of small order, and a non-canonical public key
/// encoding. An honest signer never produces those; a roster key that libsodium refuses is refused when the roster is
/// loaded (``isUsableKey(_:)``), so no member can sign entries that some verifiers accept and others refuse.
public enum SignatureCheck {
    /// `sodium_init` once per process; it is idempotent and thread-safe, this only avoids calling it per check.
    private static let ready: Bool = sodium_init() >= 0

    /// Whether `signature` is `publicKey`'s valid Ed25519 signature over `bytes`.
    public static func isValid(signature: [UInt8], of bytes: [UInt8], publicKey: [UInt8]) -> Bool {
        signature.withUnsafeBytes { signature in
            bytes.withUnsafeBytes { isValid(signature: signature, of: $0, publicKey: publicKey) }
        }
    }

    /// Whether `signature` is `publicKey`'s valid Ed25519 signature over `bytes` (both read in place, not copied).
    public static func isValid(
        signature: UnsafeRawBufferPointer,
        of bytes: UnsafeRawBufferPointer,
        publicKey: [UInt8]
    ) -> Bool {
        guard ready, signature.count == 64, publicKey.count == 32 else { return false }
        return publicKey.withUnsafeBufferPointer { key in
            crypto_sign_verify_detached(
                signature.baseAddress!.assumingMemoryBound(to: UInt8.self),
                bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? key.baseAddress!,
                UInt64(bytes.count),
                key.baseAddress!
            ) == 0
        }
    }

    /// Whether `publicKey` is a key libsodium verifies with: 32 bytes, a canonical encoding of a point of the main
    /// subgroup, not of small order.
    public static func isUsableKey(_ publicKey: [UInt8]) -> Bool {
        guard ready, publicKey.count == 32 else { return false }
        return publicKey.withUnsafeBufferPointer { crypto_core_ed25519_is_valid_point($0.baseAddress!) == 1 }
    }
}
