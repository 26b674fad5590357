import CoopTestKit
import Testing

/// Every `coop` command run as a hostile user would (issue 6): empty, huge, negative, malformed and non-UTF-8
/// arguments; missing paths, directories where files are expected and files where directories are. Each case must
/// exit (no trap, no signal, within 60 s) with the code the CLI documents — 1 invalid input or data, 2 a file that
/// cannot be read or written, 64 a wrong command line — and an error line that names the option, argument or
/// path concerned. The audit and dev commands are in ``HostileAuditCLITests``, damaged files and data
/// directories in ``HostileDataTests``.
@Suite("Hostile command lines")
struct HostileCLITests {
    typealias Case = HostileCase
    static let huge = HostileCase.hugeText
    static let notUTF8 = HostileCase.notUTF8Argument
    static let notUTF8Path = HostileCase.notUTF8Path
    static let hugePath = HostileCase.hugePath

    static let topLevelCases: [Case] = [
        Case("coop \"\"", [""], .fails(64, naming: "''")),
        Case("coop HUGE", [.text(huge)], .fails(64, naming: "xxxxxxxxxx")),
        Case("coop NOT-UTF-8", [notUTF8], .fails(64, naming: "argument 1")),
        Case("coop nosuch", ["nosuch"], .fails(64, naming: "nosuch")),
        Case("coop audit \"\"", ["audit", ""], .fails(64, naming: "''")),
        Case("coop --version NOT-UTF-8", ["--version", notUTF8], .fails(64, naming: "argument 2")),
    ]

    @Test("coop itself", arguments: topLevelCases)
    func coop(_ c: Case) throws { try HostileRunner.run(c) }

    static let catalogCases: [Case] = [
        Case("catalog list --catalog \"\"", ["catalog", "list", "--catalog", ""], .fails(64, naming: "--catalog")),
        Case("catalog list --roster \"\"", ["catalog", "list", "--roster", ""], .fails(64, naming: "--roster")),
        Case(
            "catalog list --catalog MISSING",
            ["catalog", "list", "--catalog", "{S}/missing"],
            .fails(2, naming: "{S}/missing")
        ),
        Case("catalog list --catalog DIR", ["catalog", "list", "--catalog", "{S}/dir"], .fails(2, naming: "{S}/dir")),
        Case(
            "catalog list --catalog FILE/below",
            ["catalog", "list", "--catalog", "{S}/file/below"],
            .fails(2, naming: "{S}/file/below")
        ),
        Case(
            "catalog list --catalog HUGE",
            ["catalog", "list", "--catalog", .text("{S}/" + huge)],
            .fails(2, naming: hugePath)
        ),
        Case(
            "catalog list --catalog NOT-UTF-8",
            ["catalog", "list", "--catalog", notUTF8Path],
            .fails(64, naming: "argument 4")
        ),
        Case("catalog list --roster DIR", ["catalog", "list", "--roster", "{S}/dir"], .fails(2, naming: "{S}/dir")),
        Case("catalog list --json=yes", ["catalog", "list", "--json=yes"], .fails(64, naming: "--json")),
        Case("catalog list \"\"", ["catalog", "list", ""], .fails(64, naming: "''")),
        Case("catalog check \"\"", ["catalog", "check", ""], .fails(64, naming: "<file>")),
        Case("catalog check (no file)", ["catalog", "check"], .fails(64, naming: "<file>")),
        Case("catalog check MISSING", ["catalog", "check", "{S}/missing"], .fails(2, naming: "{S}/missing")),
        Case("catalog check DIR", ["catalog", "check", "{S}/dir"], .fails(2, naming: "{S}/dir")),
        Case("catalog check HUGE", ["catalog", "check", .text("{S}/" + huge)], .fails(2, naming: hugePath)),
        Case("catalog check NOT-UTF-8", ["catalog", "check", notUTF8Path], .fails(64, naming: "argument 3")),
        Case(
            "catalog check --roster \"\"",
            ["catalog", "check", "deploy/catalog.json", "--roster", ""],
            .fails(64, naming: "--roster")
        ),
        Case(
            "catalog check --roster MISSING",
            ["catalog", "check", "deploy/catalog.json", "--roster", "{S}/missing"],
            .fails(2, naming: "{S}/missing")
        ),
    ]

    @Test("coop catalog list|check", arguments: catalogCases)
    func catalog(_ c: Case) throws { try HostileRunner.run(c) }

    static let wireCases: [Case] = [
        Case(
            "wire encode \"\"",
            ["wire", "encode", ""],
            .fails(1, naming: "no message type named ''"),
            stdin: Array("{}".utf8)
        ),
        Case(
            "wire encode HUGE",
            ["wire", "encode", .text(huge)],
            .fails(1, naming: "no message type named"),
            stdin: Array("{}".utf8)
        ),
        Case(
            "wire encode NOT-UTF-8",
            ["wire", "encode", notUTF8],
            .fails(64, naming: "argument 3"),
            stdin: Array("{}".utf8)
        ),
        Case(
            "wire encode --format \"\"",
            ["wire", "encode", "coop.v1.EntryBody", "--format", ""],
            .fails(64, naming: "--format")
        ),
        Case(
            "wire encode --format HUGE",
            ["wire", "encode", "coop.v1.EntryBody", "--format", .text(huge)],
            .fails(64, naming: "--format")
        ),
        Case("wire decode \"\"", ["wire", "decode", ""], .fails(1, naming: "no message type named ''")),
        Case("wire decode (no message)", ["wire", "decode"], .fails(64, naming: "<message>")),
        Case("wire decode HUGE", ["wire", "decode", .text(huge)], .fails(1, naming: "no message type named")),
        Case(
            "wire decode --format -1",
            ["wire", "decode", "coop.v1.EntryBody", "--format=-1"],
            .fails(64, naming: "--format")
        ),
        Case("wire list \"\"", ["wire", "list", ""], .fails(64, naming: "''")),
        Case("wire list --bogus", ["wire", "list", "--bogus"], .fails(64, naming: "--bogus")),
    ]

    @Test("coop wire encode|decode|list", arguments: wireCases)
    func wire(_ c: Case) throws { try HostileRunner.run(c) }

    static let keygenCases: [Case] = [
        Case("keygen (no options)", ["keygen"], .fails(64, naming: "--out")),
        Case("keygen --out \"\"", ["keygen", "--out", "", "--name", "cd-x"], .fails(64, naming: "--out")),
        Case("keygen --name \"\"", ["keygen", "--out", "{S}/k", "--name", ""], .fails(64, naming: "--name")),
        Case(
            "keygen --name ../escape",
            ["keygen", "--out", "{S}/k", "--name", "../escape"],
            .fails(64, naming: "--name")
        ),
        Case("keygen --name HUGE", ["keygen", "--out", "{S}/k", "--name", .text(huge)], .fails(64, naming: "--name")),
        Case(
            "keygen --name NOT-UTF-8",
            ["keygen", "--out", "{S}/k", "--name", notUTF8],
            .fails(64, naming: "argument 5")
        ),
        Case("keygen --out FILE", ["keygen", "--out", "{S}/file", "--name", "cd-x"], .fails(2, naming: "{S}/file")),
        Case(
            "keygen --out FILE/below",
            ["keygen", "--out", "{S}/file/below", "--name", "cd-x"],
            .fails(2, naming: "{S}/file/below")
        ),
        Case(
            "keygen --out HUGE",
            ["keygen", "--out", .text("{S}/" + huge), "--name", "cd-x"],
            .fails(2, naming: hugePath)
        ),
        Case(
            "keygen --out NOT-UTF-8",
            ["keygen", "--out", notUTF8Path, "--name", "cd-x"],
            .fails(64, naming: "argument 3")
        ),
        Case(
            "keygen --side \"\"",
            ["keygen", "--out", "{S}/k", "--name", "cd-x", "--side", ""],
            .fails(64, naming: "--side")
        ),
        Case(
            "keygen --role HUGE",
            ["keygen", "--out", "{S}/k", "--name", "cd-x", "--role", .text(huge)],
            .fails(64, naming: "--role")
        ),
        Case(
            "keygen --role staff without --home-node",
            ["keygen", "--out", "{S}/k", "--name", "cd-x", "--role", "staff"],
            .fails(64, naming: "--home-node")
        ),
        Case(
            "keygen --home-node \"Not An Id\"",
            ["keygen", "--out", "{S}/k", "--name", "cd-x", "--role", "staff", "--home-node", "Not An Id"],
            .fails(64, naming: "--home-node")
        ),
        Case(
            "keygen --role peer --home-node",
            ["keygen", "--out", "{S}/k", "--name", "cd-x", "--home-node", "cq-shapingba"],
            .fails(64, naming: "--home-node")
        ),
    ]

    @Test("coop keygen", arguments: keygenCases)
    func keygen(_ c: Case) throws { try HostileRunner.run(c) }
}
