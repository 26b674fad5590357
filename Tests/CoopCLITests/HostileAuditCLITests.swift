import CoopTestKit
import Testing

/// `coop audit verify|replay|history|diff` and `coop dev generate-log` with hostile command lines (issue 6), under
/// the rules of ``HostileCLITests``: `--at` values that overflow or are no time, negative and 400-digit numbers,
/// empty, huge and non-UTF-8 paths and ids.
@Suite("Hostile command lines: audit and dev")
struct HostileAuditCLITests {
    typealias Case = HostileCase
    static let huge = HostileCase.hugeText
    static let hugeNumber = HostileCase.hugeNumber
    static let notUTF8 = HostileCase.notUTF8Argument
    static let notUTF8Path = HostileCase.notUTF8Path
    static let hugePath = HostileCase.hugePath

    /// `--at` values that are not a date or date-time in years 0–9999.
    static let badTimes: [(String, String)] = [
        ("empty", ""),
        ("T alone", "T"),
        ("year of 11 digits", "99999999999-01-01"),
        ("year of 19 digits", "9223372036854775807-01-01"),
        ("year of 400 digits", hugeNumber + "-01-01"),
        ("hour of 12 digits", "2025-01-01T999999999999:00:00Z"),
        ("hour of 19 digits", "2025-01-01T9223372036854775807:00Z"),
        ("minute of 19 digits", "2025-01-01T00:9223372036854775807Z"),
        ("second of 400 digits", "2025-01-01T00:00:" + hugeNumber + "Z"),
        ("month 13", "2025-13-01"),
        ("month 0", "2025-00-10"),
        ("February 30", "2025-02-30"),
        ("hour 24", "2025-01-01T24:00Z"),
        ("minute 60", "2025-01-01T12:60Z"),
        ("second 61", "2025-01-01T12:00:61Z"),
        ("negative hour", "2025-01-01T-5:00Z"),
        ("negative year", "-2025-01-01"),
        ("plus sign", "+2025-01-01"),
        ("full-width digits", "２０２５-01-01"),
        ("a word", "yesterday"),
        ("T without a time", "2025-01-01T"),
        ("hour without minutes", "2025-01-01T12"),
        ("an offset instead of Z", "2025-01-01T12:00:00+08:00"),
        ("dashes only", "--"),
        ("huge", huge),
    ]

    static let replayOptionsCases: [Case] =
        badTimes.map { name, value in
            Case(
                "audit replay --at (\(name))",
                // A value starting with "-" would be read as an option unless joined to it.
                ["audit", "replay", "{S}/node"]
                    + (value.hasPrefix("-") ? [.text("--at=" + value)] : ["--at", .text(value)]),
                .fails(64, naming: "--at"),
                node: .intact
            )
        } + [
            Case(
                "audit replay --at NOT-UTF-8",
                ["audit", "replay", "{S}/node", "--at", notUTF8],
                .fails(64, naming: "argument 5"),
                node: .intact
            ),
            Case(
                "audit replay --position -1",
                ["audit", "replay", "{S}/dir", "--position", "-1"],
                .fails(64, naming: "--position")
            ),
            Case(
                "audit replay --position=-1",
                ["audit", "replay", "{S}/dir", "--position=-1"],
                .fails(64, naming: "--position")
            ),
            Case(
                "audit replay --position 400 digits",
                ["audit", "replay", "{S}/dir", "--position", .text(hugeNumber)],
                .fails(64, naming: "--position")
            ),
            Case(
                "audit replay --position 2^64",
                ["audit", "replay", "{S}/dir", "--position", "18446744073709551616"],
                .fails(64, naming: "--position")
            ),
            Case(
                "audit replay --position \"\"",
                ["audit", "replay", "{S}/dir", "--position", ""],
                .fails(64, naming: "--position")
            ),
            Case(
                "audit replay --at and --position",
                ["audit", "replay", "{S}/dir", "--at", "2025-01-01", "--position", "3"],
                .fails(64, naming: "--position")
            ),
            Case(
                "audit replay --json --csv",
                ["audit", "replay", "{S}/dir", "--json", "--csv"],
                .fails(64, naming: "--csv")
            ),
            Case(
                "audit replay --item \"\"",
                ["audit", "replay", "{S}/node", "--item", ""],
                .fails(64, naming: "--item"),
                node: .intact
            ),
            Case(
                "audit replay --item NOT-UTF-8",
                ["audit", "replay", "{S}/dir", "--item", notUTF8],
                .fails(64, naming: "argument 5")
            ),
            Case(
                "audit replay --item HUGE",
                ["audit", "replay", "{S}/node", "--item", .text(huge)],
                .fails(64, naming: "is not an item id (at most 32 characters"),
                node: .intact
            ),
            Case(
                "audit replay --position 2^64-1 (past the end)",
                ["audit", "replay", "{S}/node", "--position", "18446744073709551615"],
                .succeeds,
                node: .intact
            ),
            Case(
                "audit replay --at 9999-12-31T23:59:59Z (the last time)",
                ["audit", "replay", "{S}/node", "--at", "9999-12-31T23:59:59Z"],
                .succeeds,
                node: .intact
            ),
            Case(
                "audit replay --at 0000-01-01 (before the epoch)",
                ["audit", "replay", "{S}/node", "--at", "0000-01-01"],
                .succeeds,
                node: .intact
            ),
        ]

    @Test("coop audit replay: --at, --position, --item", arguments: replayOptionsCases)
    func replayOptions(_ c: Case) throws { try HostileRunner.run(c) }

    /// The data-directory argument and the reference-file options, for each audit command that takes them.
    static let auditPathsCases: [Case] = ["verify", "replay", "history"].flatMap { command -> [Case] in
        let item: [HostileCase.Argument] = command == "history" ? ["CY-01"] : []
        let audit: [HostileCase.Argument] = ["audit", .text(command)]
        return [
            Case("audit \(command) \"\"", audit + [""] + item, .fails(64, naming: "<directory>")),
            Case("audit \(command) (no directory)", audit, .fails(64, naming: "<directory>")),
            Case("audit \(command) MISSING", audit + ["{S}/missing"] + item, .fails(2, naming: "{S}/missing")),
            Case("audit \(command) FILE", audit + ["{S}/file"] + item, .fails(2, naming: "{S}/file")),
            Case(
                "audit \(command) EMPTY-DIR",
                audit + ["{S}/dir", "--roster", "deploy/roster.json", "--catalog", "deploy/catalog.json"] + item,
                .fails(2, naming: "{S}/dir/log")
            ),
            Case("audit \(command) HUGE", audit + [.text("{S}/" + huge)] + item, .fails(2, naming: hugePath)),
            Case("audit \(command) NOT-UTF-8", audit + [notUTF8Path] + item, .fails(64, naming: "argument 3")),
            Case(
                "audit \(command) --roster \"\"",
                audit + ["{S}/dir", "--roster", ""] + item,
                .fails(64, naming: "--roster")
            ),
            Case(
                "audit \(command) --catalog \"\"",
                audit + ["{S}/dir", "--catalog", ""] + item,
                .fails(64, naming: "--catalog")
            ),
            Case(
                "audit \(command) --roster MISSING",
                audit + ["{S}/node", "--roster", "{S}/missing"] + item,
                .fails(2, naming: "{S}/missing"),
                node: .intact
            ),
            Case(
                "audit \(command) --roster DIR",
                audit + ["{S}/node", "--roster", "{S}/dir"] + item,
                .fails(2, naming: "{S}/dir"),
                node: .intact
            ),
        ]
    }

    @Test("coop audit verify|replay|history: paths", arguments: auditPathsCases)
    func auditPaths(_ c: Case) throws { try HostileRunner.run(c) }

    static let historyAndDiffCases: [Case] = [
        Case(
            "audit history DIR \"\"",
            ["audit", "history", "{S}/node", ""],
            .fails(64, naming: "<item>"),
            node: .intact
        ),
        Case("audit history DIR (no item)", ["audit", "history", "{S}/dir"], .fails(64, naming: "<item>")),
        Case(
            "audit history DIR NOT-UTF-8",
            ["audit", "history", "{S}/dir", notUTF8],
            .fails(64, naming: "argument 4")
        ),
        Case(
            "audit history DIR HUGE",
            ["audit", "history", "{S}/node", .text(huge)],
            .fails(64, naming: "is not an item id (at most 32 characters"),
            node: .intact
        ),
        Case("audit diff \"\" \"\"", ["audit", "diff", "", ""], .fails(64, naming: "<left>")),
        Case("audit diff DIR \"\"", ["audit", "diff", "{S}/dir", ""], .fails(64, naming: "<right>")),
        Case("audit diff (one directory)", ["audit", "diff", "{S}/dir"], .fails(64, naming: "<right>")),
        Case(
            "audit diff MISSING DIR",
            ["audit", "diff", "{S}/missing", "{S}/dir"],
            .fails(2, naming: "{S}/missing/log")
        ),
        Case("audit diff FILE FILE", ["audit", "diff", "{S}/file", "{S}/file"], .fails(2, naming: "{S}/file")),
        Case(
            "audit diff HUGE HUGE",
            ["audit", "diff", .text("{S}/" + huge), .text("{S}/" + huge)],
            .fails(2, naming: hugePath)
        ),
        Case("audit diff NOT-UTF-8 DIR", ["audit", "diff", notUTF8Path, "{S}/dir"], .fails(64, naming: "argument 3")),
        Case(
            "audit diff NODE MISSING",
            ["audit", "diff", "{S}/node", "{S}/missing"],
            .fails(2, naming: "{S}/missing/log"),
            node: .intact
        ),
    ]

    @Test("coop audit history|diff: items and directories", arguments: historyAndDiffCases)
    func historyAndDiff(_ c: Case) throws { try HostileRunner.run(c) }

    static let generateLogCases: [Case] = [
        Case("dev generate-log \"\"", ["dev", "generate-log", ""], .fails(64, naming: "<directory>")),
        Case("dev generate-log (no directory)", ["dev", "generate-log"], .fails(64, naming: "<directory>")),
        Case(
            "dev generate-log --entries -5",
            ["dev", "generate-log", "{S}/g", "--entries", "-5"],
            .fails(64, naming: "--entries")
        ),
        Case(
            "dev generate-log --entries=-5",
            ["dev", "generate-log", "{S}/g", "--entries=-5"],
            .fails(64, naming: "--entries")
        ),
        Case(
            "dev generate-log --entries 400 digits",
            ["dev", "generate-log", "{S}/g", "--entries", .text(hugeNumber)],
            .fails(64, naming: "--entries")
        ),
        Case(
            "dev generate-log --entries Int.max",
            ["dev", "generate-log", "{S}/g", "--entries", "9223372036854775807"],
            .fails(64, naming: "--entries")
        ),
        Case(
            "dev generate-log --entries \"\"",
            ["dev", "generate-log", "{S}/g", "--entries", ""],
            .fails(64, naming: "--entries")
        ),
        Case(
            "dev generate-log --seed=-1",
            ["dev", "generate-log", "{S}/g", "--seed=-1"],
            .fails(64, naming: "--seed")
        ),
        Case(
            "dev generate-log --seed 400 digits",
            ["dev", "generate-log", "{S}/g", "--seed", .text(hugeNumber)],
            .fails(64, naming: "--seed")
        ),
        Case(
            "dev generate-log --keys \"\"",
            ["dev", "generate-log", "{S}/g", "--keys", ""],
            .fails(64, naming: "--keys")
        ),
        Case(
            "dev generate-log --catalog \"\"",
            ["dev", "generate-log", "{S}/g", "--catalog", ""],
            .fails(64, naming: "--catalog")
        ),
        Case(
            "dev generate-log --roster \"\"",
            ["dev", "generate-log", "{S}/g", "--roster", ""],
            .fails(64, naming: "--roster")
        ),
        Case(
            "dev generate-log --keys MISSING",
            ["dev", "generate-log", "{S}/g", "--keys", "{S}/missing", "--entries", "5"],
            .fails(2, naming: "{S}/missing")
        ),
        Case(
            "dev generate-log --keys FILE",
            ["dev", "generate-log", "{S}/g", "--keys", "{S}/file", "--entries", "5"],
            .fails(2, naming: "{S}/file")
        ),
        Case(
            "dev generate-log --roster DIR",
            ["dev", "generate-log", "{S}/g", "--roster", "{S}/dir", "--entries", "5"],
            .fails(2, naming: "{S}/dir")
        ),
        Case(
            "dev generate-log FILE",
            ["dev", "generate-log", "{S}/file", "--entries", "5"],
            .fails(2, naming: "{S}/file")
        ),
        Case(
            "dev generate-log FILE/below",
            ["dev", "generate-log", "{S}/file/below", "--entries", "5"],
            .fails(2, naming: "{S}/file/below")
        ),
        Case(
            "dev generate-log HUGE",
            ["dev", "generate-log", .text("{S}/" + huge), "--entries", "5"],
            .fails(2, naming: hugePath)
        ),
        Case(
            "dev generate-log NOT-UTF-8",
            ["dev", "generate-log", notUTF8Path, "--entries", "5"],
            .fails(64, naming: "argument 3")
        ),
        Case(
            "dev generate-log NODE (a log is there)",
            ["dev", "generate-log", "{S}/node", "--entries", "5"],
            .fails(1, naming: "{S}/node/log"),
            node: .intact
        ),
    ]

    @Test("coop dev generate-log", arguments: generateLogCases)
    func generateLog(_ c: Case) throws { try HostileRunner.run(c) }
}
