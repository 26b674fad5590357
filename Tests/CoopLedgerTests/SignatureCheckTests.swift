import CSodium
import CoopLedger
import CoopTestKit
import CoopWire
import Crypto
import Testing

/// ``SignatureCheck`` (libsodium) agrees with swift-crypto on what honest signers produce and refuses what only a
/// lax verifier accepts; the roster refuses keys it could not verify with.
@Suite struct SignatureCheckTests {
    @Test("agrees with swift-crypto on 300 seeded signatures, good and tampered")
    func agrees() throws {
        var rng = SplitMix64(seed: 7)
        for round in 0..<300 {
            let seed = (0..<4).flatMap { _ in withUnsafeBytes(of: rng.next()) { Array($0) } }
            let key = try Curve25519.Signing.PrivateKey(rawRepresentation: seed)
            let message = (0..<Int(rng.next() % 300)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            var signature = [UInt8](try key.signature(for: message))
            let publicKey = [UInt8](key.publicKey.rawRepresentation)
            #expect(SignatureCheck.isValid(signature: signature, of: message, publicKey: publicKey), "round \(round)")
            // Flip one bit of the signature, or of the message.
            var tampered = message
            if round % 2 == 0 || message.isEmpty {
                signature[Int(rng.next() % 64)] ^= 1 << UInt8(rng.next() % 8)
            } else {
                tampered[Int(rng.next() % UInt64(message.count))] ^= 1 << UInt8(rng.next() % 8)
            }
            let lax = key.publicKey.isValidSignature(signature, for: tampered)
            let strict = SignatureCheck.isValid(signature: signature, of: tampered, publicKey: publicKey)
            #expect(!strict, "round \(round): a tampered signature verified")
            #expect(lax == strict, "round \(round): swift-crypto and libsodium disagree")
        }
    }

    @Test("wrong sizes are refused, never trapped on")
    func sizes() {
        let key = NodeKeys.generate(name: "cd-x")
        let signature = key.makeSigner().sign([1])
        #expect(!SignatureCheck.isValid(signature: [], of: [1], publicKey: key.signingPublicKey))
        #expect(!SignatureCheck.isValid(signature: signature + [0], of: [1], publicKey: key.signingPublicKey))
        #expect(!SignatureCheck.isValid(signature: signature, of: [1], publicKey: []))
        #expect(SignatureCheck.isValid(signature: key.makeSigner().sign([]), of: [], publicKey: key.signingPublicKey))
        #expect(!SignatureCheck.isUsableKey(Array(key.signingPublicKey.dropLast())))
        #expect(SignatureCheck.isUsableKey(key.signingPublicKey))
    }

    /// A signer who knows its secret scalar `a` can sign with `R` = the identity point and `S = h·a`: the equation
    /// `[S]B = R + [h]A` holds, so a lax verifier (swift-crypto) accepts it, while libsodium refuses an `R` of small
    /// order. Every `coop` applies libsodium's rule, so all nodes agree to refuse it.
    @Test("a signature with R of small order: swift-crypto accepts, SignatureCheck refuses")
    func smallOrderR() throws {
        #expect(sodium_init() >= 0)
        var a = [UInt8](repeating: 0, count: 32)
        var publicKey = [UInt8](repeating: 0, count: 32)
        crypto_core_ed25519_scalar_random(&a)
        #expect(crypto_scalarmult_ed25519_base_noclamp(&publicKey, a) == 0)
        let message: [UInt8] = Array("任务→分办→落实".utf8)
        let identity: [UInt8] = [1] + [UInt8](repeating: 0, count: 31)
        var digest = [UInt8](repeating: 0, count: 64)
        let input = identity + publicKey + message
        crypto_hash_sha512(&digest, input, UInt64(input.count))
        var h = [UInt8](repeating: 0, count: 32)
        crypto_core_ed25519_scalar_reduce(&h, digest)
        var s = [UInt8](repeating: 0, count: 32)
        crypto_core_ed25519_scalar_mul(&s, h, a)
        let signature = identity + s
        let lax = try Curve25519.Signing.PublicKey(rawRepresentation: publicKey)
        #expect(lax.isValidSignature(signature, for: message), "the crafted signature should satisfy the equation")
        #expect(!SignatureCheck.isValid(signature: signature, of: message, publicKey: publicKey))
    }

    @Test("a roster whose peer key is of small order is refused, naming the member")
    func smallOrderKey() throws {
        var roster = try Fixtures.roster().roster
        let index = roster.members.firstIndex { $0.role == .peer }!
        roster.members[index].signingPublicKey = [1] + [UInt8](repeating: 0, count: 31)
        let error = #expect(throws: LedgerError.self) { try RosterBook(roster, path: "roster.json") }
        #expect(error?.message.contains(roster.members[index].id) == true)
        #expect(error?.message.contains("not a usable Ed25519 public key") == true)
    }
}
