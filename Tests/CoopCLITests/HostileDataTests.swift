import CoopTestKit
import Foundation
import Testing

/// Every `coop` command fed hostile file contents and damaged data directories (issue 6): random and non-UTF-8
/// bytes, 1 MB inputs, truncated and garbage segments, a segment that is a directory or a symbolic link, records
/// in valid frames that hold garbage or extreme values, a garbage checkpoint. The same rules as ``HostileCLITests``: exit 1 for invalid data, 2 for a file that
/// cannot be read, never a trap, a signal or a hang; and exit 0 where docs/LOG-FORMAT.md calls the damage harmless
/// (an empty or header-only newest segment, a torn last record for the commands that read as a node would, the
/// checkpoint, which the audit commands never read).
@Suite("Hostile files and data directories")
struct HostileDataTests {
    typealias Case = HostileCase

    static let contentsCases: [Case] = [
        Case("catalog check GARBAGE", ["catalog", "check", "{S}/garbage"], .fails(1, naming: "{S}/garbage")),
        Case(
            "catalog check 1 MB of random bytes",
            ["catalog", "check", "{S}/random-1mb"],
            .fails(1, naming: "{S}/random-1mb")
        ),
        Case("catalog check EMPTY", ["catalog", "check", "{S}/empty"], .fails(1, naming: "{S}/empty")),
        Case(
            "catalog check NOT-UTF-8 JSON",
            ["catalog", "check", "{S}/not-utf8.json"],
            .fails(1, naming: "{S}/not-utf8.json")
        ),
        Case(
            "catalog check 200,000 nested arrays",
            ["catalog", "check", "{S}/deep.json"],
            .fails(1, naming: "{S}/deep.json")
        ),
        Case(
            "catalog check TRUNCATED",
            ["catalog", "check", "{S}/truncated-catalog.json"],
            .fails(1, naming: "{S}/truncated-catalog.json")
        ),
        Case(
            "catalog list --catalog GARBAGE",
            ["catalog", "list", "--catalog", "{S}/garbage"],
            .fails(1, naming: "{S}/garbage")
        ),
        Case(
            "catalog list --roster NOT-UTF-8 JSON",
            ["catalog", "list", "--roster", "{S}/not-utf8.json"],
            .fails(1, naming: "{S}/not-utf8.json")
        ),
        Case(
            "catalog list --roster 400-digit keyEpoch",
            ["catalog", "list", "--roster", "{S}/huge-number.json"],
            .fails(1, naming: "{S}/huge-number.json")
        ),
        Case(
            "catalog list --roster 1 MB id",
            ["catalog", "list", "--roster", "{S}/huge-string.json"],
            .fails(1, naming: "{S}/huge-string.json")
        ),
        Case(
            "catalog check --roster 1 MB of random bytes",
            ["catalog", "check", "deploy/catalog.json", "--roster", "{S}/random-1mb"],
            .fails(1, naming: "{S}/random-1mb")
        ),
        Case(
            "dev generate-log --keys GARBAGE-KEYS",
            ["dev", "generate-log", "{S}/g", "--keys", "{S}/keys", "--entries", "5"],
            .fails(1, naming: "{S}/keys")
        ),
        Case(
            "dev generate-log --keys SHORT-KEYS",
            ["dev", "generate-log", "{S}/g", "--keys", "{S}/short-keys", "--entries", "5"],
            .fails(1, naming: "{S}/short-keys")
        ),
        Case(
            "dev generate-log --catalog GARBAGE",
            ["dev", "generate-log", "{S}/g", "--catalog", "{S}/garbage", "--entries", "5"],
            .fails(1, naming: "{S}/garbage")
        ),
        Case(
            "dev generate-log --roster 1 MB of random bytes",
            ["dev", "generate-log", "{S}/g", "--roster", "{S}/random-1mb", "--entries", "5"],
            .fails(1, naming: "{S}/random-1mb")
        ),
    ]

    @Test("reference and key files with hostile contents", arguments: contentsCases)
    func contents(_ c: Case) throws { try HostileRunner.run(c) }

    static let stdinCases: [Case] = [
        Case(
            "wire encode: 1 MB of random bytes",
            ["wire", "encode", "coop.v1.EntryBody"],
            .fails(1, naming: "JSON"),
            stdin: Sandbox.megabyte
        ),
        Case(
            "wire encode: JSON with bytes that are not UTF-8",
            ["wire", "encode", "coop.v1.EntryBody"],
            .fails(1, naming: "UTF-8"),
            stdin: Array(#"{"origin": ""#.utf8) + HostileCase.notUTF8 + Array(#""}"#.utf8)
        ),
        Case(
            "wire encode: 200,000 nested arrays",
            ["wire", "encode", "coop.v1.EntryBody"],
            .fails(1, naming: "nest"),
            stdin: Array(repeating: UInt8(ascii: "["), count: 200_000)
        ),
        Case("wire encode: nothing", ["wire", "encode", "coop.v1.EntryBody"], .fails(1, naming: "JSON")),
        Case(
            "wire encode: a 400-digit sequence",
            ["wire", "encode", "coop.v1.EntryBody"],
            .fails(1, naming: "sequence"),
            stdin: Array(#"{"sequence": "\#(HostileCase.hugeNumber)"}"#.utf8)
        ),
        Case(
            "wire encode: a negative sequence",
            ["wire", "encode", "coop.v1.EntryBody"],
            .fails(1, naming: "sequence"),
            stdin: Array(#"{"sequence": -5}"#.utf8)
        ),
        Case(
            "wire encode: a 1 MB origin",
            ["wire", "encode", "coop.v1.EntryBody", "--format", "hex"],
            .succeeds,
            stdin: Array(#"{"origin": "\#(String(repeating: "o", count: 1 << 20))"}"#.utf8)
        ),
        Case(
            "wire decode: 1 MB of random bytes",
            ["wire", "decode", "coop.v1.EntryBody"],
            .fails(1, naming: "coop.v1.EntryBody"),
            stdin: Sandbox.megabyte
        ),
        Case(
            "wire decode: a length of 4 GB",
            ["wire", "decode", "coop.v1.EntryBody"],
            .fails(1, naming: "coop.v1.EntryBody"),
            stdin: [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x61]
        ),
        Case(
            "wire decode --format hex: random bytes",
            ["wire", "decode", "coop.v1.EntryBody", "--format", "hex"],
            .fails(1, naming: "hex"),
            stdin: Sandbox.random(count: 4096, seed: 9)
        ),
        Case(
            "wire decode --format base64: bytes that are not UTF-8",
            ["wire", "decode", "coop.v1.EntryBody", "--format", "base64"],
            .fails(1, naming: "base64"),
            stdin: HostileCase.notUTF8
        ),
    ]

    @Test("wire encode|decode with hostile standard input", arguments: stdinCases)
    func stdin(_ c: Case) throws { try HostileRunner.run(c) }

    /// What each command that reads a data directory must do with each kind of damage.
    static let damage: [(name: String, damage: NodeDamage, verify: HostileCase.Outcome, read: HostileCase.Outcome)] = [
        (
            "segment of 4 KiB random bytes", .segmentRandom(count: 4096, seed: 11),
            .fails(1, naming: "{S}/node/log/00000001.seg"), .fails(1, naming: "{S}/node/log/00000001.seg")
        ),
        (
            "segment of 1 MiB random bytes", .segmentRandom(count: 1 << 20, seed: 12),
            .fails(1, naming: "{S}/node/log/00000001.seg"), .fails(1, naming: "{S}/node/log/00000001.seg")
        ),
        // A torn tail: the node would cut it; verify reports it, the readers stop before it.
        (
            "header, then 4 KiB random bytes", .afterHeaderRandom(count: 4096, seed: 13),
            .fails(1, naming: "{S}/node/log/00000001.seg"), .succeeds
        ),
        (
            "header, then 1 MiB random bytes", .afterHeaderRandom(count: 1 << 20, seed: 14),
            .fails(1, naming: "{S}/node/log/00000001.seg"), .succeeds
        ),
        ("segment cut to 0 bytes", .segmentTruncated(bytes: 0), .succeeds, .succeeds),
        (
            "segment cut to 1 byte", .segmentTruncated(bytes: 1), .fails(1, naming: "{S}/node/log/00000001.seg"),
            .succeeds
        ),
        (
            "segment cut to 7 bytes", .segmentTruncated(bytes: 7), .fails(1, naming: "{S}/node/log/00000001.seg"),
            .succeeds
        ),
        ("segment cut to its header", .segmentTruncated(bytes: 16), .succeeds, .succeeds),
        (
            "segment cut inside a record", .segmentTruncated(bytes: 100),
            .fails(1, naming: "{S}/node/log/00000001.seg"), .succeeds
        ),
        (
            "segment is a directory", .segmentIsDirectory,
            .fails(2, naming: "{S}/node/log/00000001.seg"), .fails(2, naming: "{S}/node/log/00000001.seg")
        ),
        ("segment is a symbolic link", .segmentIsSymlink, .succeeds, .succeeds),
        (
            "a second segment of random bytes", .extraSegmentRandom(seed: 15),
            .fails(1, naming: "{S}/node/log/0000000"), .fails(1, naming: "{S}/node/log/0000000")
        ),
        (
            "the only segment is number 3", .onlySegmentThree,
            .fails(1, naming: "{S}/node/log/00000001.seg"), .fails(1, naming: "{S}/node/log/00000001.seg")
        ),
        ("log/ is a file", .logIsFile, .fails(2, naming: "{S}/node/log"), .fails(2, naming: "{S}/node/log")),
        (
            "no log/", .noLog, .fails(2, naming: "{S}/node/log does not exist): it is not a node's data directory"),
            .fails(2, naming: "{S}/node/log does not exist): it is not a node's data directory")
        ),
        (
            "a record of random bytes in a valid frame", .payloadRandom(record: 2, count: 300, seed: 19),
            .fails(1, naming: "{S}/node/log/00000001.seg"), .fails(1, naming: "{S}/node/log record #2")
        ),
        (
            "an empty record in a valid frame", .payloadRandom(record: 0, count: 0, seed: 0),
            .fails(1, naming: "{S}/node/log/00000001.seg"), .fails(1, naming: "{S}/node/log record #0")
        ),
        // Replay does not check signatures (by design: `coop audit verify` does), so these are read as written.
        (
            "entries with extreme values, unsigned", .extremeEntries, .fails(1, naming: "{S}/node/log/00000001.seg"),
            .succeeds
        ),
        ("checkpoint of random bytes", .checkpointRandom(seed: 16), .succeeds, .succeeds),
        ("checkpoint is a directory", .checkpointIsDirectory, .succeeds, .succeeds),
    ]

    static let dataDirectoriesCases: [Case] =
        damage.flatMap { name, damage, verify, read -> [Case] in
            [
                Case("audit verify: \(name)", ["audit", "verify", "{S}/node"], verify, node: damage),
                Case(
                    "audit verify on a terminal: \(name)",
                    ["audit", "verify", "{S}/node"],
                    verify,
                    node: damage,
                    terminal: true
                ),
                Case("audit replay: \(name)", ["audit", "replay", "{S}/node", "--json"], read, node: damage),
                Case(
                    "audit replay --position 5: \(name)",
                    ["audit", "replay", "{S}/node", "--position", "5"],
                    read,
                    node: damage
                ),
                Case("audit history: \(name)", ["audit", "history", "{S}/node", "CY-01"], read, node: damage),
                Case(
                    "audit diff: \(name)",
                    ["audit", "diff", "{S}/node", "{S}/node"],
                    read,
                    node: damage
                ),
            ]
        } + [
            // The reference files inside the data directory.
            Case(
                "audit verify: roster.json of random bytes",
                ["audit", "verify", "{S}/node"],
                .fails(1, naming: "{S}/node/roster.json"),
                node: .rosterRandom(seed: 17)
            ),
            Case(
                "audit replay: roster.json is a directory",
                ["audit", "replay", "{S}/node"],
                .fails(2, naming: "{S}/node/roster.json"),
                node: .rosterIsDirectory
            ),
            Case(
                "audit history: catalog.json is empty",
                ["audit", "history", "{S}/node", "CY-01"],
                .fails(1, naming: "{S}/node/catalog.json"),
                node: .catalogEmpty
            ),
            Case(
                "audit replay: catalog.json is empty",
                ["audit", "replay", "{S}/node"],
                .fails(1, naming: "{S}/node/catalog.json"),
                node: .catalogEmpty
            ),
            Case(
                "dev generate-log: a checkpoint of random bytes and no log",
                ["dev", "generate-log", "{S}/node", "--entries", "5"],
                .succeeds,
                node: .all([.noLog, .checkpointRandom(seed: 18)])
            ),
        ]

    @Test("audit verify|replay|history|diff on damaged data directories", arguments: dataDirectoriesCases)
    func dataDirectories(_ c: Case) throws { try HostileRunner.run(c) }
}
