import CoopTestKit
import CoopWire
import CoopZMQ
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The client commands when something is wrong before or around the call: bad arguments (refused before anything
/// connects), profiles that are missing, garbage or wrong, an endpoint where no node answers, a key the node does
/// not admit.
@Suite("coop item and coop call: bad arguments, profiles, unreachable and refused nodes", .serialized)
struct ClientFailureTests {
    /// A command line that must be refused: its arguments, exit code and a part of its message.
    struct BadArguments: Sendable, CustomTestStringConvertible {
        var arguments: [String]
        var exit: Int32
        var message: String
        var testDescription: String { arguments.joined(separator: " ") }

        init(_ arguments: [String], _ exit: Int32, _ message: String) {
            self.arguments = arguments
            self.exit = exit
            self.message = message
        }
    }

    static let hex64 = String(repeating: "ab", count: 32)

    static let badArguments: [BadArguments] = [
        .init(
            ["item", "update", "CY-07", "--status", "done"],
            64,
            "--status \"done\" is not a status; give one of: planned"
        ),
        .init(
            ["item", "update", "CY-07", "--status", "in-progress", "--progress", "101"],
            64,
            "--progress must be 0 to 100"
        ),
        .init(
            ["item", "update", "CY-07", "--status", "in-progress", "--progress=-1"],
            64,
            "--progress must be 0 to 100"
        ),
        // A negative number after a space is the option's value, not a missing value and an unknown option.
        .init(
            ["item", "update", "CY-07", "--status", "in-progress", "--progress", "-1"],
            64,
            "--progress must be 0 to 100 (percent), not -1"
        ),
        .init(["item", "show", "CY-07", "--timeout", "-1"], 64, "--timeout must be a number of seconds above 0"),
        .init(["item", "watch", "--for", "-2"], 64, "--for must be"),
        .init(["item", "update", "CY-07"], 64, "--status"),
        .init(["item", "update", "", "--status", "planned"], 64, "<item> is empty"),
        .init(["item", "update", "CY 07", "--status", "planned"], 64, "<item> \"CY 07\" is not an item id"),
        .init(["item", "update", "CY-07", "--status", "planned", "--note", ""], 64, "--note is empty"),
        .init(["item", "update", "CY-07", "--status", "planned", "--reporter", ""], 64, "--reporter is empty"),
        .init(
            ["item", "update", "CY-07", "--status", "planned", "--expect-heads", "abc"],
            64,
            "--expect-heads \"abc\" is not an entry id (64 hex digits"
        ),
        .init(
            ["item", "update", "CY-07", "--status", "planned", "--expect-heads", hex64 + ",zz"],
            64,
            "--expect-heads \"zz\" is not an entry id"
        ),
        .init(["item", "list", "--status", "unspecified"], 64, "--status \"unspecified\" is not a status"),
        .init(["item", "list", "--participant", "CD WUHOU"], 64, "--participant \"CD WUHOU\" is not a roster id"),
        .init(["item", "show", String(repeating: "x", count: 40)], 64, "is not an item id (at most 32 characters"),
        .init(["item", "comment", "CY-07", ""], 64, "<text> is empty"),
        .init(["item", "comment", "CY-07", "hello", "--author", ""], 64, "--author is empty"),
        .init(["item", "sign-off", "CY-07", "--entry", "xyz"], 64, "--entry \"xyz\" is not an entry id"),
        .init(["item", "sign-off", "CY-07", "--entry", hex64 + "ab"], 64, "is not an entry id"),
        .init(["item", "watch", "--for", "0"], 64, "--for must be a number of seconds above 0"),
        .init(["item", "list", "--timeout", "0"], 64, "--timeout must be a number of seconds above 0"),
        .init(["item", "list", "--timeout", "nan"], 64, "--timeout must be a number of seconds above 0"),
        .init(["item", "list", "--node", "localhost:4000"], 64, "--node: \"localhost:4000\" is not an endpoint"),
        .init(["item", "list", "--node", "tcp://127.0.0.1"], 64, "has no host and port"),
        .init(["item", "list", "--lang", "fr"], 64, "--lang"),
        .init(["item", "list", "--mesh", "/nowhere"], 64, "--mesh needs --as MEMBER"),
        .init(["item", "list", "--as", "staff.wuhou"], 64, "--as needs --mesh DIR"),
        .init(["item", "list", "--client", "a.toml", "--mesh", "m", "--as", "x"], 64, "not both"),
        .init(["item", "list", "--as", "Staff Wuhou", "--mesh", "m"], 64, "--as \"Staff Wuhou\" is not a roster id"),
        .init(["call", "nonsense"], 64, "\"nonsense\" is not a method or an endpoint"),
        .init(["call", "ftp://x:1", "Ledger.GetItem"], 64, "<endpoint>: \"ftp://x:1\" is not an endpoint"),
        .init(["call", "tcp://", "Ledger.GetItem"], 64, "<endpoint>: \"tcp://\" is not an endpoint"),
        .init(["call", "describe"], 64, "describe takes one TYPE, SERVICE or METHOD"),
        .init(["call", "Ledger.GetItem", "{}", "extra"], 64, "too many words"),
        .init(["call", "Ledger.GetItem", "-H", "novalue"], 64, "-H \"novalue\" is not key:value"),
        .init(["call", "Ledger.GetItem", "-H", "Bad Key:1"], 64, "is not lower-case ASCII letters"),
        .init(["call", "tcp://127.0.0.1:9", "Ledger.GetItem", "--node", "tcp://127.0.0.1:9"], 64, "not both"),
    ]

    @Test(
        "bad arguments are refused with a message naming the option, before anything connects",
        arguments: badArguments
    )
    func refusedBeforeConnecting(_ bad: BadArguments) async throws {
        let dir = try TemporaryDirectory("coop-client-bad")
        try await TestNode.with(in: dir) { node in
            let result = try await CLIProcess.run(bad.arguments, environment: ["COOP_CLIENT": node.profile])
            #expect(result.status == bad.exit, "\(result)")
            #expect(result.stderr.contains(bad.message), "\(result.stderr)")
            #expect(node.fake.calls.isEmpty, "the node was called: \(node.fake.calls.map(\.method))")
        }
    }

    @Test("no profile anywhere: exit 64 saying what to pass")
    func noProfile() async throws {
        let result = try await CLIProcess.run(["item", "list"])
        #expect(result.status == 64, "\(result)")
        #expect(
            result.stderr.contains(
                "no client profile: give --client FILE, or --mesh DIR --as MEMBER, or set COOP_CLIENT"
            )
        )
    }

    /// A profile and what `coop item list` must say about it.
    struct BadProfile: Sendable, CustomTestStringConvertible {
        var name: String
        /// The profile's text (`{SERVER}` is the node's key, `{ENDPOINT}` its endpoint); `nil`: no file.
        var text: String?
        var exit: Int32
        var messages: [String]
        var testDescription: String { name }
    }

    static let badProfiles: [BadProfile] = [
        BadProfile(name: "missing", text: nil, exit: 2, messages: ["client profile {PROFILE}: no such file"]),
        BadProfile(
            name: "binary garbage",
            text: "\u{0}\u{1}\u{2}garbage",
            exit: 1,
            messages: ["client profile {PROFILE}: line 1: contains a NUL byte"]
        ),
        BadProfile(
            name: "TOML syntax error",
            text: "member = \"staff.wuhou\"\nnode = \"cd-wuhou\nendpoint = 3\n",
            exit: 1,
            messages: ["client profile {PROFILE}: line 2, column", "not valid TOML"]
        ),
        BadProfile(
            name: "missing endpoint",
            text: "member = \"staff.wuhou\"\nnode = \"cd-wuhou\"\n",
            exit: 1,
            messages: ["client profile {PROFILE}: key \"endpoint\" is missing"]
        ),
        BadProfile(
            name: "endpoint of the wrong type",
            text: "member = \"staff.wuhou\"\nnode = \"cd-wuhou\"\nendpoint = 40123\n",
            exit: 1,
            messages: [
                "client profile {PROFILE}: line 3: key \"endpoint\": expected a string in quotes, found an integer"
            ]
        ),
        BadProfile(
            name: "unknown key",
            text: "member = \"staff.wuhou\"\nnode = \"cd-wuhou\"\nendpoint = \"{ENDPOINT}\"\ninsecur = true\n",
            exit: 1,
            messages: ["line 4: key \"insecur\": not a profile key"]
        ),
        BadProfile(
            name: "member not a roster id",
            text: "member = \"Staff Wuhou\"\nnode = \"cd-wuhou\"\nendpoint = \"{ENDPOINT}\"\n",
            exit: 1,
            messages: ["line 1: key \"member\": \"Staff Wuhou\" is not a roster id"]
        ),
        BadProfile(
            name: "server key not base64",
            text: "member = \"staff.wuhou\"\nnode = \"cd-wuhou\"\nendpoint = \"{ENDPOINT}\"\n"
                + "server_curve_public_key = \"not*base64\"\nkey_dir = \"../keys\"\n",
            exit: 1,
            messages: ["line 4: key \"server_curve_public_key\": \"not*base64\" is not base64"]
        ),
        BadProfile(
            name: "server key of 16 bytes",
            text: "member = \"staff.wuhou\"\nnode = \"cd-wuhou\"\nendpoint = \"{ENDPOINT}\"\n"
                + "server_curve_public_key = \"AAAAAAAAAAAAAAAAAAAAAA==\"\nkey_dir = \"../keys\"\n",
            exit: 1,
            messages: ["key \"server_curve_public_key\": decodes to 16 bytes; a CurveZMQ public key is 32 bytes"]
        ),
        BadProfile(
            name: "no server key",
            text: "member = \"staff.wuhou\"\nnode = \"cd-wuhou\"\nendpoint = \"{ENDPOINT}\"\nkey_dir = \"../keys\"\n",
            exit: 1,
            messages: ["key \"server_curve_public_key\": missing; a CurveZMQ connection needs the node's public key"]
        ),
        BadProfile(
            name: "key_dir without the member's keys",
            text: "member = \"staff.nobody\"\nnode = \"cd-wuhou\"\nendpoint = \"{ENDPOINT}\"\n"
                + "server_curve_public_key = \"{SERVER}\"\nkey_dir = \"../keys\"\n",
            exit: 2,
            messages: ["key \"key_dir\" (\"../keys\"):", "keys/staff.nobody.signing.key: cannot read key file"]
        ),
        BadProfile(
            name: "key file that is garbage",
            text: "member = \"staff.garbage\"\nnode = \"cd-wuhou\"\nendpoint = \"{ENDPOINT}\"\n"
                + "server_curve_public_key = \"{SERVER}\"\nkey_dir = \"../keys\"\n",
            exit: 1,
            messages: ["staff.garbage.signing.key: no line starting with \"ed25519-seed:\""]
        ),
    ]

    @Test(
        "a bad profile is refused naming the file, the key and what is wrong, before anything connects",
        arguments: badProfiles
    )
    func badProfile(_ bad: BadProfile) async throws {
        let dir = try TemporaryDirectory("coop-client-profile")
        try await TestNode.with(in: dir) { node in
            let path = "\(node.mesh)/clients/bad.toml"
            if let text = bad.text {
                let profile = text.replacingOccurrences(of: "{SERVER}", with: Base64.encode(node.serverPublicKey))
                    .replacingOccurrences(of: "{ENDPOINT}", with: node.endpoint)
                try await TestNode.write(profile, to: path)
            }
            try await TestNode.write("not a key\n", to: "\(node.mesh)/keys/staff.garbage.signing.key")
            let result = try await CLIProcess.run(["item", "list", "--client", path, "--timeout", "30"])
            #expect(result.status == bad.exit, "\(result)")
            for message in bad.messages {
                let expected = message.replacingOccurrences(of: "{PROFILE}", with: path)
                #expect(result.stderr.contains(expected), "\(expected) not in: \(result.stderr)")
            }
            #expect(node.fake.calls.isEmpty)
        }
    }

    @Test("--insecure: plain text with a warning on stderr (this node speaks CurveZMQ, so no answer: exit 3)")
    func insecureWarns() async throws {
        let dir = try TemporaryDirectory("coop-client-insecure")
        try await TestNode.with(in: dir) { node in
            let result = try await CLIProcess.run([
                "item", "list", "--insecure", "--node", node.endpoint, "--timeout", "1",
            ])
            #expect(result.status == 3, "\(result)")
            #expect(
                result.stderr.contains("warning: plain text to \(node.endpoint): no encryption and no authentication")
            )
            #expect(result.stderr.contains("error: DEADLINE_EXCEEDED"), "\(result.stderr)")
        }
    }

    /// A TCP port on 127.0.0.1 where nothing listens: bound to port 0 to learn a free one, then closed.
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bind(fd, sa, length) == 0 && getsockname(fd, sa, &length) == 0
            }
        }
        try #require(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }

    @Test("an endpoint where no node listens: UNAVAILABLE or DEADLINE_EXCEEDED within the timeout, exit 3, no hang")
    func unreachable() async throws {
        let dir = try TemporaryDirectory("coop-client-unreachable")
        try await TestNode.with(in: dir) { node in
            let endpoint = "tcp://127.0.0.1:\(try Self.closedPort())"
            for arguments in [
                ["item", "list"], ["item", "watch"], ["call"], ["call", "Ledger.GetItem", "{}"],
            ] {
                let result = try await CLIProcess.run(
                    arguments + ["--client", node.profile, "--node", endpoint, "--timeout", "1.5"],
                    deadline: .seconds(60)
                )
                #expect(result.status == 3, "\(arguments): \(result)")
                #expect(
                    result.stderr.contains("error: DEADLINE_EXCEEDED") || result.stderr.contains("error: UNAVAILABLE"),
                    "\(result.stderr)"
                )
                #expect(result.stderr.contains("no answer from \(endpoint)"), "\(result.stderr)")
                // The client's own 1.5 s deadline ended it (the message names it), not anything slower; the wall
                // clock only bounds a hang, as a loaded machine may be slow to start the process.
                #expect(
                    result.stderr.contains("the deadline of 1500000 µs passed")
                        || result.stderr.contains("the deadline passed before a connection")
                        || result.stderr.contains("error: UNAVAILABLE"),
                    "\(result.stderr)"
                )
                #expect(result.seconds < 60, "took \(result.seconds) s with a 1.5 s timeout")
            }
        }
    }

    @Test("a profile with another node's server key: no handshake, DEADLINE_EXCEEDED with a hint at the key, exit 3")
    func wrongServerKey() async throws {
        let dir = try TemporaryDirectory("coop-client-wrong-server-key")
        try await TestNode.with(in: dir) { node in
            let other = Base64.encode(try ZMQCurve.keyPair().publicKey)
            let path = "\(node.mesh)/clients/wrong-server.toml"
            try await TestNode.write(node.profileText(member: TestNode.staffID, serverKey: other), to: path)
            let result = try await CLIProcess.run(["item", "list", "--client", path, "--timeout", "1.5"])
            #expect(result.status == 3, "\(result)")
            // Never connected (the handshake cannot complete), so the call was never sent.
            #expect(
                result.stderr.contains("error: DEADLINE_EXCEEDED (DEADLINE_EXCEEDED): the deadline of 1500000 µs")
                    || result.stderr.contains(
                        "error: DEADLINE_EXCEEDED (DEADLINE_EXCEEDED): the deadline passed before a connection"
                    ),
                "\(result.stderr)"
            )
            #expect(result.stderr.contains("is the profile's server_curve_public_key that node's key?"))
            #expect(node.fake.calls.isEmpty)
        }
    }

    @Test("a key the node does not admit: UNAUTHENTICATED naming the key, exit 4, long before the timeout")
    func unauthenticated() async throws {
        let dir = try TemporaryDirectory("coop-client-unauth")
        try await TestNode.with(in: dir) { node in
            let key = ZMQCurve.z85(node.stranger.curvePublicKey)
            for arguments in [["item", "show", "CY-07"], ["call"], ["item", "watch"]] {
                let result = try await CLIProcess.run(
                    arguments + ["--client", node.strangerProfile, "--timeout", "300"]
                )
                #expect(result.status == 4, "\(arguments): \(result)")
                #expect(result.stderr.contains("error: UNAUTHENTICATED (UNAUTHENTICATED)"), "\(result.stderr)")
                #expect(result.stderr.contains(key), "the refused key \(key) is named: \(result.stderr)")
                #expect(result.seconds < 60)
            }
            #expect(node.fake.calls.isEmpty)
        }
    }
}
