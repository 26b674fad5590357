import CoopLedger
import CoopTestKit
import CoopWire
import Foundation

/// Damage done to the generated data directory `{S}/node` before `coop` runs.
enum NodeDamage: Sendable {
    /// None: a valid data directory.
    case intact
    /// Segment 1 replaced by `count` seeded random bytes.
    case segmentRandom(count: Int, seed: UInt64)
    /// Segment 1 keeps its 16-byte header; what follows is replaced by `count` seeded random bytes.
    case afterHeaderRandom(count: Int, seed: UInt64)
    /// Segment 1 cut to `bytes`.
    case segmentTruncated(bytes: Int)
    /// Segment 1 is a directory.
    case segmentIsDirectory
    /// Segment 1 is a symbolic link to the real file elsewhere.
    case segmentIsSymlink
    /// A second segment of seeded random bytes after segment 1.
    case extraSegmentRandom(seed: UInt64)
    /// The only segment is numbered 3.
    case onlySegmentThree
    /// `log/` is a regular file.
    case logIsFile
    /// No `log/` at all.
    case noLog
    /// `checkpoint` holds seeded random bytes.
    case checkpointRandom(seed: UInt64)
    /// `checkpoint` is a directory.
    case checkpointIsDirectory
    /// `roster.json` holds seeded random bytes (not UTF-8).
    case rosterRandom(seed: UInt64)
    /// `catalog.json` is empty.
    case catalogEmpty
    /// `roster.json` is a directory.
    case rosterIsDirectory
    /// Record `record` keeps a valid frame (length and checksum) around `count` seeded random bytes.
    case payloadRandom(record: Int, count: Int, seed: UInt64)
    /// Records 5, 6 and 7 hold entries that decode, with extreme values (sequence and time at their maximum,
    /// progress 4294967295, a 1 MB comment, a sign-off of a 3-byte id of an unknown item) and signatures that do
    /// not verify; the framing and the local chain are repaired, as a tamperer without the keys would.
    case extremeEntries
    /// Each of these, in order.
    case all([NodeDamage])

    func apply(to node: String) throws {
        let files = FileManager.default
        let segment = node + "/log/00000001.seg"
        switch self {
        case .intact:
            break
        case .segmentRandom(let count, let seed):
            try write(Sandbox.random(count: count, seed: seed), to: segment)
        case .afterHeaderRandom(let count, let seed):
            let header = try Array(Data(contentsOf: URL(fileURLWithPath: segment)).prefix(16))
            try write(header + Sandbox.random(count: count, seed: seed), to: segment)
        case .segmentTruncated(let bytes):
            guard truncate(segment, off_t(bytes)) == 0 else { throw POSIXError(.EIO) }
        case .segmentIsDirectory:
            try files.removeItem(atPath: segment)
            try files.createDirectory(atPath: segment, withIntermediateDirectories: false)
        case .segmentIsSymlink:
            try files.moveItem(atPath: segment, toPath: node + "/elsewhere.seg")
            try files.createSymbolicLink(atPath: segment, withDestinationPath: node + "/elsewhere.seg")
        case .extraSegmentRandom(let seed):
            try write(Sandbox.random(count: 4096, seed: seed), to: node + "/log/00000002.seg")
        case .onlySegmentThree:
            try files.moveItem(atPath: segment, toPath: node + "/log/00000003.seg")
        case .logIsFile:
            try files.removeItem(atPath: node + "/log")
            try write(Array("not a directory\n".utf8), to: node + "/log")
        case .noLog:
            try files.removeItem(atPath: node + "/log")
        case .checkpointRandom(let seed):
            try write(Sandbox.random(count: 4096, seed: seed), to: node + "/checkpoint")
        case .checkpointIsDirectory:
            try files.createDirectory(atPath: node + "/checkpoint", withIntermediateDirectories: false)
        case .rosterRandom(let seed):
            try write(Sandbox.random(count: 4096, seed: seed), to: node + "/roster.json")
        case .catalogEmpty:
            try write([], to: node + "/catalog.json")
        case .rosterIsDirectory:
            try files.removeItem(atPath: node + "/roster.json")
            try files.createDirectory(atPath: node + "/roster.json", withIntermediateDirectories: false)
        case .payloadRandom(let record, let count, let seed):
            var tamper = try LogTamper(directory: node)
            try tamper.replacePayload(
                ofRecord: record,
                with: Sandbox.random(count: count, seed: seed),
                repair: .framing
            )
            try tamper.write()
        case .extremeEntries:
            var tamper = try LogTamper(directory: node)
            for (record, payload) in Self.extremePayloads.enumerated() {
                let body = EntryBody(
                    origin: Fixtures.nodes[record % 3],
                    sequence: .max - UInt64(record),
                    previous: Sandbox.random(count: 32, seed: UInt64(record)),
                    timestamp: HybridTimestamp(wallMs: .max, logical: .max),
                    parents: (0..<3).map { Sandbox.random(count: 32, seed: 100 + UInt64($0)) },
                    payload: payload
                )
                let entry = SignedEntry(body: body.wireBytes(), signature: Sandbox.random(count: 64, seed: 7))
                try tamper.replaceEntry(ofRecord: 5 + record, with: entry.wireBytes(), repair: .chain)
            }
            try tamper.write()
        case .all(let damages):
            for damage in damages { try damage.apply(to: node) }
        }
    }

    static let extremePayloads: [EntryBody.Payload] = [
        .statusUpdate(
            StatusUpdate(itemId: "CY-01", status: .completed, progress: .max, note: String(repeating: "注", count: 5000))
        ),
        .comment(Comment(itemId: "CY-01", text: String(repeating: "c", count: 1 << 20), author: "")),
        .signOff(SignOff(itemId: "ZZ-99", entryId: [1, 2, 3], signer: "", note: "")),
    ]

    private func write(_ bytes: [UInt8], to path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}

/// The files every case finds in its sandbox `{S}`.
enum Sandbox {
    /// Creates the fixtures in `path`:
    /// `file` (a regular file), `dir/` (empty), `empty` (0 bytes), `garbage` (4 KiB of random bytes, not UTF-8),
    /// `random-1mb`, `not-utf8.json` (JSON whose string holds bytes that are not UTF-8), `deep.json` (200,000
    /// nested arrays), `huge-number.json` (a roster whose keyEpoch has 400 digits), `huge-string.json` (a roster
    /// whose id is 1 MB), `truncated-catalog.json` (the first 1,000 bytes of the catalog), `keys/` (key files of
    /// the example nodes holding random bytes), `short-keys/` (key files whose secrets are 3 bytes).
    static func populate(_ path: String) throws {
        func write(_ bytes: [UInt8], _ name: String) throws {
            try Data(bytes).write(to: URL(fileURLWithPath: path + "/" + name))
        }
        try write(Array("not a directory\n".utf8), "file")
        try FileManager.default.createDirectory(atPath: path + "/dir", withIntermediateDirectories: false)
        try write([], "empty")
        try write(random(count: 4096, seed: 1), "garbage")
        try write(megabyte, "random-1mb")
        try write(
            Array(#"{"version": ""#.utf8) + HostileCase.notUTF8 + Array(#"", "members": []}"#.utf8),
            "not-utf8.json"
        )
        try write(Array(repeating: UInt8(ascii: "["), count: 200_000), "deep.json")
        try write(
            Array(#"{"version": "1", "members": [{"id": "a", "keyEpoch": \#(HostileCase.hugeNumber)}]}"#.utf8),
            "huge-number.json"
        )
        try write(
            Array(#"{"version": "1", "members": [{"id": "\#(String(repeating: "a", count: 1 << 20))"}]}"#.utf8),
            "huge-string.json"
        )
        try write(
            Array(try Data(contentsOf: URL(fileURLWithPath: Fixtures.catalogPath)).prefix(1000)),
            "truncated-catalog.json"
        )
        for (folder, content) in [
            ("keys", random(count: 600, seed: 3)),
            ("short-keys", Array("ed25519-seed:AAAA\ncurve25519-secret:AAAA\n".utf8)),
        ] {
            try FileManager.default.createDirectory(atPath: path + "/" + folder, withIntermediateDirectories: false)
            for node in Fixtures.nodes {
                try write(content, "\(folder)/\(node).signing.key")
                try write(content, "\(folder)/\(node).curve.key")
            }
        }
    }

    /// `count` seeded random bytes.
    static func random(count: Int, seed: UInt64) -> [UInt8] {
        var random = SeededRandom(seed: seed)
        return random.bytes(count)
    }

    /// 1 MiB of random bytes, made once.
    static let megabyte = random(count: 1 << 20, seed: 2)
}
