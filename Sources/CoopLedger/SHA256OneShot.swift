import CCoopSHA256
import Crypto

/// SHA-256 of one message in one call, with the processor's SHA extensions when it has them (`CCoopSHA256`), else
/// with swift-crypto. For the digests made once per log record (entry ids, the local chain): swift-crypto's
/// `SHA256` allocates a context for each digest, which on a replay's short messages cost as much as the hashing.
/// Stateless; thread-safe.
package enum SHA256OneShot {
    /// Whether this processor has the instructions (checked once).
    package static let usesInstruction = coop_sha256_hw_available() != 0

    /// The digest of the bytes in `raw`, as an id.
    package static func digest(_ raw: UnsafeRawBufferPointer) -> EntryID {
        usesInstruction ? instruction(raw) : library(raw)
    }

    /// The digest through the instructions (only when ``usesInstruction``).
    package static func instruction(_ raw: UnsafeRawBufferPointer) -> EntryID {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { digest in
            coop_sha256_hw(raw.baseAddress, raw.count, digest.baseAddress!)
            return EntryID(raw: UnsafeRawBufferPointer(digest))!
        }
    }

    /// The digest through swift-crypto (every processor).
    package static func library(_ raw: UnsafeRawBufferPointer) -> EntryID {
        var hasher = SHA256()
        hasher.update(bufferPointer: raw)
        return hasher.finalize().withUnsafeBytes { EntryID(raw: $0)! }
    }
}
