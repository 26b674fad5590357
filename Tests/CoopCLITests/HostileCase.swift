import CoopTestKit
import Foundation
import Testing

/// One hostile run of `coop`: arguments (text or raw bytes, where `{S}` stands for the case's own sandbox
/// directory), standard input, an optional data directory at `{S}/node` (generated, then damaged) and the outcome
/// expected. Every case must end by `exit` within the deadline, without a Swift backtrace.
struct HostileCase: Sendable, CustomTestStringConvertible {
    /// One command-line argument.
    enum Argument: Sendable, ExpressibleByStringLiteral {
        case text(String)
        /// Bytes that need not be UTF-8.
        case bytes([UInt8])

        init(stringLiteral value: String) { self = .text(value) }

        func bytes(sandbox: String) -> [UInt8] {
            switch self {
            case .text(let text): Array(text.replacingOccurrences(of: "{S}", with: sandbox).utf8)
            case .bytes(let bytes): HostileCase.replacingSandbox(in: bytes, with: sandbox)
            }
        }
    }

    /// What `coop` must do.
    enum Outcome: Sendable {
        /// Exit with `code`, with an error line on stderr that contains `naming` (`{S}` is replaced).
        case fails(Int32, naming: String)
        /// Exit 0: the input is odd but valid, or damage the format documents as harmless.
        case succeeds
    }

    var name: String
    var arguments: [Argument]
    var outcome: Outcome
    var stdin: [UInt8] = []
    /// A data directory at `{S}/node`, damaged so (nil: none).
    var node: NodeDamage?
    /// Standard error is a terminal (so progress bars are drawn).
    var terminal = false
    /// Entries in the generated data directory (the auditor reports progress every 4096 records).
    var nodeEntries = 40

    var testDescription: String { name }

    init(
        _ name: String,
        _ arguments: [Argument],
        _ outcome: Outcome,
        stdin: [UInt8] = [],
        node: NodeDamage? = nil,
        nodeEntries: Int = 40,
        terminal: Bool = false
    ) {
        self.name = name
        self.arguments = arguments
        self.outcome = outcome
        self.stdin = stdin
        self.node = node
        self.nodeEntries = nodeEntries
        self.terminal = terminal
    }

    static func replacingSandbox(in bytes: [UInt8], with sandbox: String) -> [UInt8] {
        let token = Array("{S}".utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i...].starts(with: token) {
                out += Array(sandbox.utf8)
                i += token.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    // MARK: Hostile values

    /// An argument as long as Linux takes (MAX_ARG_STRLEN is 128 KiB with the NUL; a 1 MB argument cannot be
    /// passed at all, so 1 MB inputs go through files and standard input instead).
    static let hugeText = String(repeating: "x", count: 120_000)
    static let hugeNumber = String(repeating: "9", count: 400)
    /// Bytes that are not UTF-8: a lone continuation byte, an overlong encoding, 0xFF.
    static let notUTF8: [UInt8] = [0x80, 0xC0, 0xAF, 0xFF, 0xFE]
    static let notUTF8Argument = Argument.bytes(notUTF8)
    /// A path in the sandbox whose name is not UTF-8.
    static let notUTF8Path = Argument.bytes(Array("{S}/".utf8) + notUTF8)
    /// What the error for the path `{S}/` + `hugeText` names: its start.
    static let hugePath = "{S}/" + String(hugeText.prefix(20))
}

/// Runs hostile cases against the built `coop` and checks how each ended.
enum HostileRunner {
    /// What a Swift trap or crash prints on stderr.
    static let crashMarkers = [
        "Fatal error", "Stack dump", "💣", "Backtracing", "Program crashed", "Current stack trace",
    ]

    /// Runs `c` in a fresh sandbox; `prepare` gets the sandbox's path after the fixtures and the node are made.
    @discardableResult
    static func run(_ c: HostileCase, prepare: (String) throws -> Void = { _ in }) throws -> ChildProcess.RawResult {
        let sandbox = try TemporaryDirectory("coop-hostile")
        try Sandbox.populate(sandbox.path)
        if let damage = c.node {
            let node = sandbox.file("node")
            let generated = try ChildProcess.run(
                try ChildProcess.product("coop"),
                ["dev", "generate-log", node, "--entries", "\(c.nodeEntries)", "--seed", "5"],
                currentDirectory: ChildProcess.repositoryRoot()
            )
            try #require(generated.status == 0, "generate-log: \(generated.stderr)")
            try damage.apply(to: node)
        }
        try prepare(sandbox.path)
        let result = try ChildProcess.run(
            try ChildProcess.product("coop"),
            rawArguments: c.arguments.map { $0.bytes(sandbox: sandbox.path) },
            stdin: c.stdin,
            currentDirectory: ChildProcess.repositoryRoot(),
            timeout: .seconds(60),
            stderrIsTerminal: c.terminal
        )
        check(result, c, sandbox: sandbox.path)
        return result
    }

    static func check(_ result: ChildProcess.RawResult, _ c: HostileCase, sandbox: String) {
        let stderr = result.stderrText
        let shown = abbreviated(stderr, sandbox: sandbox)
        let crash = crashMarkers.first { stderr.contains($0) }
        #expect(crash == nil, "a crash report (\(crash ?? "")) on stderr:\n\(shown)")
        switch c.outcome {
        case .succeeds:
            #expect(result.ending == .exited(0), "\(result.ending); stderr:\n\(shown)")
        case .fails(let code, let naming):
            #expect(result.ending == .exited(code), "\(result.ending), expected exit \(code); stderr:\n\(shown)")
            let fragment = naming.replacingOccurrences(of: "{S}", with: sandbox)
            let line = errorLine(stderr)
            let names = line?.contains(fragment) ?? false
            #expect(line != nil, "no line starting with \"error: \" on stderr:\n\(shown)")
            #expect(line == nil || names, "the error does not name \"\(naming)\":\n\(shown)")
        }
    }

    /// `text` with `sandbox` written `{S}` and each line cut to 300 characters, at most 2,000 in all.
    static func abbreviated(_ text: String, sandbox: String) -> String {
        let lines = text.replacingOccurrences(of: sandbox, with: "{S}").split(separator: "\n").map {
            $0.count > 300 ? $0.prefix(300) + "… (\($0.count) characters)" : String($0)
        }
        let joined = lines.joined(separator: "\n")
        return joined.count > 2000 ? String(joined.prefix(2000)) + "…" : joined
    }

    /// The first line of `stderr` that is an error message (progress drawn on a terminal stripped off).
    static func errorLine(_ stderr: String) -> String? {
        for rawLine in stderr.split(separator: "\n") {
            let line = rawLine.split(separator: "\r").last.map(String.init) ?? ""
            if line.hasPrefix("error: ") || line.hasPrefix("Error: ") { return line }
        }
        return nil
    }
}
