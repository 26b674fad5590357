import CoopTestKit
import Foundation
import Testing

/// Files `coop` cannot read (chmod 000, or a read that fails with EIO) and the auditor's progress bar on a terminal
/// (issue 6), under the rules of ``HostileCLITests``.
@Suite("Hostile file access and terminals")
struct HostileAccessTests {
    typealias Case = HostileCase

    /// The auditor's progress on a terminal, with a log of 9,000 entries (progress every 4,096 records): it stays
    /// within 0–100 % and never shows more bytes done than in all, also when the segment is a symbolic link.
    @Test("audit verify: the progress bar on a terminal", arguments: [NodeDamage.intact, .segmentIsSymlink])
    func progress(_ damage: NodeDamage) throws {
        let c = Case(
            "audit verify on a terminal, 9,000 entries",
            ["audit", "verify", "{S}/node"],
            .succeeds,
            node: damage,
            nodeEntries: 9000,
            terminal: true
        )
        let result = try HostileRunner.run(c)
        let drawn = result.stderrText.split(separator: "\r").filter { $0.hasPrefix("verifying [") }
        #expect(drawn.count >= 2, "no progress drawn: \(result.stderrText.prefix(500))")
        for line in drawn {
            // verifying [###...] 45% (0.6/1.4 MB)
            let numbers = line.split(whereSeparator: { !"0123456789.".contains($0) }).compactMap { Double($0) }
            guard numbers.count == 3 else {
                Issue.record("unexpected progress line: \(line)")
                continue
            }
            #expect((0...100).contains(numbers[0]), "\(line)")
            #expect(numbers[1] <= numbers[2], "more done than in all: \(line)")
        }
    }

    /// Root reads any file whatever its mode, so this runs only for other users.
    static var isRoot: Bool { geteuid() == 0 }

    static let unreadableCases: [Case] = [
        Case("catalog check UNREADABLE", ["catalog", "check", "{S}/unreadable"], .fails(2, naming: "{S}/unreadable")),
        Case(
            "audit verify --roster UNREADABLE",
            ["audit", "verify", "{S}/node", "--roster", "{S}/unreadable"],
            .fails(2, naming: "{S}/unreadable"),
            node: .intact
        ),
        Case(
            "audit replay with an unreadable segment",
            ["audit", "replay", "{S}/node"],
            .fails(2, naming: "{S}/node/log/00000001.seg"),
            node: .intact
        ),
        Case(
            "audit verify with an unreadable segment",
            ["audit", "verify", "{S}/node"],
            .fails(2, naming: "{S}/node/log/00000001.seg"),
            node: .intact
        ),
    ]

    @Test(
        "files that chmod 000 makes unreadable",
        .enabled(
            if: !isRoot,
            "running as root: chmod 000 does not stop root from reading; see the /proc/self/mem cases"
        ),
        arguments: unreadableCases
    )
    func unreadable(_ c: Case) throws {
        try HostileRunner.run(c) { sandbox in
            try Data("{}".utf8).write(to: URL(fileURLWithPath: sandbox + "/unreadable"))
            chmod(sandbox + "/unreadable", 0)
            chmod(sandbox + "/node/log/00000001.seg", 0)
        }
    }

    /// Files whose read fails with EIO whoever reads them (also as root): /proc/self/mem at offset 0.
    static let readFailsCases: [Case] = [
        Case(
            "catalog check /proc/self/mem",
            ["catalog", "check", "/proc/self/mem"],
            .fails(2, naming: "/proc/self/mem")
        ),
        Case(
            "catalog list --roster /proc/self/mem",
            ["catalog", "list", "--roster", "/proc/self/mem"],
            .fails(2, naming: "/proc/self/mem")
        ),
        Case(
            "audit verify --roster /proc/self/mem",
            ["audit", "verify", "{S}/node", "--roster", "/proc/self/mem"],
            .fails(2, naming: "/proc/self/mem"),
            node: .intact
        ),
    ]

    @Test(
        "files whose read fails",
        .enabled(if: FileManager.default.fileExists(atPath: "/proc/self/mem")),
        arguments: readFailsCases
    )
    func readFails(_ c: Case) throws { try HostileRunner.run(c) }
}
