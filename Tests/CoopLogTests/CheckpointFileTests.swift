import CoopLedger
import CoopLog
import CoopSegments
import CoopTestKit
import Foundation
import Testing

/// A checkpoint file that is crafted, unreadable or in the way never traps and never passes for "no checkpoint":
/// the store says why it did not use it and replays the whole log (issue 6 §1 "Checkpoint file").
extension CheckpointTests {
    /// The checkpoint's bytes with the CRC-32C trailer recomputed after `edit`.
    static func resealed(_ bytes: [UInt8], _ edit: (inout [UInt8]) -> Void) -> [UInt8] {
        var body = Array(bytes.dropLast(4))
        edit(&body)
        var crc = CRC32C()
        crc.update(body)
        return body + withUnsafeBytes(of: crc.value.littleEndian) { Array($0) }
    }

    /// Offset of the first origin's entry count: magic, version, record count, chain, two hashes, clock, origin
    /// count, then the origin's name (u32 length and bytes).
    static func firstOriginCountOffset(_ bytes: [UInt8]) -> Int {
        let nameLength = Int(bytes[132]) | Int(bytes[133]) << 8 | Int(bytes[134]) << 16 | Int(bytes[135]) << 24
        return 136 + nameLength
    }

    @Test(
        "a crafted checkpoint (valid checksum, absurd counts) is refused with a reason, never a trap",
        arguments: [UInt64.max, UInt64(Int.max), 1 << 40]
    )
    func craftedCounts(_ count: UInt64) async throws {
        let dir = try await generated(40)
        try await LogStore.open(directory: dir.path, roster: roster, catalog: catalog).close()
        let path = dir.file("checkpoint")
        let valid = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let offset = Self.firstOriginCountOffset(valid)
        let crafted = Self.resealed(valid) { body in
            withUnsafeBytes(of: count.littleEndian) { body.replaceSubrange(offset..<offset + 8, with: $0) }
        }
        try Data(crafted).write(to: URL(fileURLWithPath: path))
        let store = try LogStore.open(directory: dir.path, roster: roster, catalog: catalog)
        #expect(!store.openReport.checkpointUsed)
        #expect(store.openReport.note?.contains("more than the file holds") == true, "\(store.openReport)")
        #expect(store.recordCount == 40)
        try await store.close()
    }

    @Test("a checkpoint that cannot be read is reported, not taken for a missing one; the log is replayed")
    func unreadable() async throws {
        let dir = try await generated(30)
        // A directory in its place: opening it works on Linux, reading it fails with EISDIR (root reads any file,
        // so permissions cannot make it unreadable in a test run as root).
        try FileManager.default.createDirectory(atPath: dir.file("checkpoint"), withIntermediateDirectories: false)
        let store = try LogStore.open(directory: dir.path, roster: roster, catalog: catalog)
        #expect(!store.openReport.checkpointUsed)
        let note = try #require(store.openReport.note)
        #expect(note.contains("\(dir.file("checkpoint")) cannot be read"), "\(note)")
        #expect(note.contains("cannot be made"), "\(note)")
        #expect(store.recordCount == 30)
        // Closing cannot replace a directory with the new checkpoint: it says so, naming the call and file.
        let error = await #expect(throws: LogError.self) { try await store.close() }
        #expect(error?.code == .io)
        #expect(error?.message.contains("rename") == true, "\(String(describing: error))")
    }

    @Test("a checkpoint file of garbage or cut short is reported and the log replayed", arguments: [0, 3, 12, 200])
    func truncatedOrGarbage(_ length: Int) async throws {
        let dir = try await generated(25)
        try await LogStore.open(directory: dir.path, roster: roster, catalog: catalog).close()
        let path = dir.file("checkpoint")
        let valid = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        try Data(valid.prefix(length)).write(to: URL(fileURLWithPath: path))
        let store = try LogStore.open(directory: dir.path, roster: roster, catalog: catalog)
        #expect(!store.openReport.checkpointUsed)
        #expect(store.openReport.note?.hasPrefix("checkpoint not used: ") == true)
        #expect(store.recordCount == 25)
        try await store.close()
    }
}
