import CoopTestKit
import Foundation
import Testing

/// Compares `coop` output with files in Tests/CoopCLITests/Golden. Run with COOP_UPDATE_GOLDEN=1 to rewrite
/// them after an intended change, then review the diff.
@Suite("CLI golden output")
struct GoldenTests {
    static let goldenDirectory = ChildProcess.repositoryRoot() + "/Tests/CoopCLITests/Golden"

    static func coop(_ arguments: [String], stdin: [UInt8] = []) throws -> ChildProcess.Result {
        try ChildProcess.run(
            try ChildProcess.product("coop"),
            arguments,
            stdin: stdin,
            currentDirectory: ChildProcess.repositoryRoot()
        )
    }

    private func compare(_ actual: String, golden name: String) throws {
        let path = "\(Self.goldenDirectory)/\(name)"
        if ProcessInfo.processInfo.environment["COOP_UPDATE_GOLDEN"] == "1" {
            try actual.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOfFile: path, encoding: .utf8)
        #expect(actual == expected, "\(name) differs; rerun with COOP_UPDATE_GOLDEN=1 to update and review the diff")
    }

    @Test(
        "help texts",
        arguments: [
            (["--help"], "help.txt"),
            (["catalog", "--help"], "catalog-help.txt"),
            (["catalog", "list", "--help"], "catalog-list-help.txt"),
            (["wire", "encode", "--help"], "wire-encode-help.txt"),
            (["keygen", "--help"], "keygen-help.txt"),
            (["report", "overdue", "--help"], "report-overdue-help.txt"),
            (["audit", "--help"], "audit-help.txt"),
            (["audit", "verify", "--help"], "audit-verify-help.txt"),
            (["audit", "replay", "--help"], "audit-replay-help.txt"),
            (["dev", "generate-log", "--help"], "generate-log-help.txt"),
        ]
    )
    func help(arguments: [String], golden: String) throws {
        let result = try Self.coop(arguments)
        #expect(result.status == 0)
        try compare(result.stdoutText, golden: golden)
    }

    @Test("catalog list: the 40 items as a table")
    func catalogList() throws {
        let result = try Self.coop(["catalog", "list"])
        #expect(result.status == 0, "\(result.stderr)")
        try compare(result.stdoutText, golden: "catalog-list.txt")
        #expect(result.stdoutText.split(separator: "\n").filter { $0.hasPrefix("CY-") }.count == 40)
    }

    @Test("catalog list --json is the coop.v1.Catalog mapping")
    func catalogJSON() throws {
        let result = try Self.coop(["catalog", "list", "--json"])
        #expect(result.status == 0)
        let expected = try String(contentsOfFile: Fixtures.catalogPath, encoding: .utf8)
        #expect(result.stdoutText == expected)
    }

    @Test("catalog check: exit 0 and the hashes when valid; exit 1 naming the problem when not")
    func catalogCheck() throws {
        let ok = try Self.coop(["catalog", "check", "deploy/catalog.json", "--roster", "deploy/roster.json"])
        #expect(ok.status == 0)
        try compare(ok.stdoutText, golden: "catalog-check.txt")
        let dir = try TemporaryDirectory()
        let bad = try String(contentsOfFile: Fixtures.catalogPath, encoding: .utf8)
            .replacingOccurrences(of: "\"CY-40\"", with: "\"CY-39\"")
        try bad.write(toFile: dir.file("c.json"), atomically: true, encoding: .utf8)
        let failed = try Self.coop(["catalog", "check", dir.file("c.json")])
        #expect(failed.status == 1)
        #expect(failed.stderr.contains("CY-39: id is used twice"))
        let missing = try Self.coop(["catalog", "check", dir.file("nope.json")])
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("nope.json: cannot read"))
    }

    @Test("wire encode | decode round-trips, and bad input exits 1 with the reason")
    func wire() throws {
        let json = #"{"origin":"cd-wuhou","sequence":"3","comment":{"itemId":"CY-04","text":"成都方已确认"}}"#
        let encoded = try Self.coop(["wire", "encode", "coop.v1.EntryBody"], stdin: Array(json.utf8))
        #expect(encoded.status == 0)
        let decoded = try Self.coop(["wire", "decode", "coop.v1.EntryBody", "--compact"], stdin: encoded.stdout)
        #expect(decoded.stdoutText == json + "\n")
        let hex = try Self.coop(["wire", "encode", "coop.v1.EntryBody", "--format", "hex"], stdin: Array(json.utf8))
        let fromHex = try Self.coop(
            ["wire", "decode", "coop.v1.EntryBody", "--format", "hex", "--compact"],
            stdin: hex.stdout
        )
        #expect(fromHex.stdoutText == json + "\n")
        let bad = try Self.coop(["wire", "decode", "coop.v1.EntryBody"], stdin: [0x0A, 0x05, 0x61])
        #expect(bad.status == 1)
        #expect(bad.stderr == "error: coop.v1.EntryBody.origin at byte 1: length 5 runs past the end (1 bytes left)\n")
        let unknown = try Self.coop(["wire", "decode", "coop.v1.Nope"], stdin: [])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no message type named 'coop.v1.Nope'"))
    }

    @Test("wire list names every service and streaming method")
    func wireList() throws {
        let result = try Self.coop(["wire", "list"])
        try compare(result.stdoutText, golden: "wire-list.txt")
        #expect(
            result.stdoutText.contains("/coop.v1.Sync/Pull(coop.v1.PullRequest) returns (stream coop.v1.PullResponse)")
        )
    }

    @Test("--version names coop, the protocol and libzmq")
    func version() throws {
        let result = try Self.coop(["--version"])
        #expect(result.stdoutText.hasPrefix("coop 0.1.0 (protocol coop.v1; libzmq 4."))
    }

    @Test("keygen writes 0600 files, refuses to overwrite, prints a roster member")
    func keygen() throws {
        let dir = try TemporaryDirectory()
        let first = try Self.coop(["keygen", "--out", dir.path, "--name", "cd-test", "--side", "chengdu"])
        #expect(first.status == 0)
        #expect(first.stdoutText.contains("\"id\": \"cd-test\""))
        #expect(first.stdoutText.contains("\"role\": \"ROLE_PEER\""))
        let again = try Self.coop(["keygen", "--out", dir.path, "--name", "cd-test"])
        #expect(again.status == 1)
        #expect(again.stderr.contains("refusing to overwrite"))
    }
}
