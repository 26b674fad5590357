import Foundation

/// Bugs the targets found that are not fixed yet (docs/FUZZING.md, "Findings"). `scripts/fuzz.sh` names them in
/// `COOP_FUZZ_KNOWN_BUGS` (comma-separated ids) so that a long run is not stopped by the same bug again and
/// again: a target skips an input (returns -1, so libFuzzer does not keep it) when the bug is listed and the
/// input reaches it. Each check below mirrors the bug's trigger, nothing more; an unlisted bug traps as usual.
public enum KnownBugs {
    /// The ids in `COOP_FUZZ_KNOWN_BUGS`.
    public static let listed: Set<String> = Set(
        (ProcessInfo.processInfo.environment["COOP_FUZZ_KNOWN_BUGS"] ?? "").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
    )

    /// Whether bug `id` is listed and `reaches` says the input reaches it.
    public static func skip(_ id: String, _ reaches: @autoclosure () -> Bool) -> Bool {
        listed.contains(id) && reaches()
    }

    /// `checkpoint-origin-count`: Checkpoint.decode reads an origin's entry count `n` (u64) and calls `Int(n)`
    /// (a trap above Int.max) and `reserveCapacity(n)` for ids and record numbers (an allocation of 40·n bytes
    /// however few bytes follow) before it reads them. True when `bytes` is a checkpoint whose checksum matches
    /// and one of whose origins, reached by the parser, counts more entries than the bytes left can hold.
    public static func checkpointOriginCountReached(_ bytes: [UInt8]) -> Bool {
        guard bytes.count > 12 else { return false }
        let end = bytes.count - 4
        guard ReferenceCRC32C.checksum(bytes[..<end]) == bytes.loadLE(at: end) else { return false }
        // Checkpoint.decode's reader runs to the end of the bytes, the checksum included (not to `end`).
        let total = bytes.count
        guard total >= 128 + 4, bytes.prefix(8).elementsEqual("COOPCKP1".utf8), bytes.loadLE(at: 8) == 1 else {
            return false
        }
        var offset = 128  // magic, version, count, chain, catalog and roster hashes, clock
        let origins = bytes.loadLE(at: offset)
        offset += 4
        for _ in 0..<origins {
            guard total - offset >= 4 else { return false }
            let nameLength = Int(bytes.loadLE(at: offset))
            offset += 4
            guard total - offset >= nameLength,
                String(validating: bytes[offset..<offset + nameLength], as: UTF8.self) != nil
            else { return false }
            offset += nameLength
            guard total - offset >= 8 else { return false }
            let n = UInt64(bytes.loadLE(at: offset)) | UInt64(bytes.loadLE(at: offset + 4)) << 32
            offset += 8
            if n > UInt64(total - offset) / 40 { return true }
            offset += Int(n) * 40
        }
        return false
    }
}
