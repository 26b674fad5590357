import ArgumentParser
import Foundation

/// How `coop item` and `coop call` reach a node: a client profile (``ClientProfile``) or a plain-text endpoint, a
/// timeout. Checked in `validate()` before anything connects.
struct ClientOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("A client profile (TOML).", valueName: "file"))
    var client: String?

    @Option(
        name: .long,
        help: ArgumentHelp("A mesh directory; with --as, uses DIR/clients/MEMBER.toml.", valueName: "dir")
    )
    var mesh: String?

    @Option(
        name: .customLong("as"),
        help: ArgumentHelp("The member whose profile to use in --mesh.", valueName: "member")
    )
    var member: String?

    @Option(name: .long, help: ArgumentHelp("Connect here instead of the profile's endpoint.", valueName: "endpoint"))
    var node: String?

    @Flag(name: .long, help: "Plain text, no keys: only for a node run with --insecure for local experiments.")
    var insecure = false

    // `.unconditional`: `--timeout -1` is a value (refused by name), not a missing value and an unknown option.
    @Option(
        name: .long,
        parsing: .unconditional,
        help: ArgumentHelp(
            "Seconds a call may take (default 10); for a stream, reaching the node (the stream runs on).",
            valueName: "seconds"
        )
    )
    var timeout: Double?

    /// The environment variable naming a default profile.
    static let profileVariable = "COOP_CLIENT"
    /// The default of --timeout.
    static let defaultTimeout = 10.0
    /// The largest --timeout (a day): a larger one is a typo, and Dispatch timers clamp far beyond it anyway.
    static let maxTimeout = 86_400.0

    /// The profile path from the environment, when set and not empty.
    static var profileFromEnvironment: String? {
        guard let value = ProcessInfo.processInfo.environment[profileVariable], !value.isEmpty else { return nil }
        return value
    }

    func validate() throws {
        try ArgumentCheck.notEmpty(client, "--client")
        try ArgumentCheck.notEmpty(mesh, "--mesh")
        try ArgumentCheck.notEmpty(member, "--as")
        try ArgumentCheck.notEmpty(node, "--node")
        if client != nil && (mesh != nil || member != nil) {
            throw ValidationError("give --client FILE or --mesh DIR --as MEMBER, not both")
        }
        if mesh != nil && member == nil { throw ValidationError("--mesh needs --as MEMBER (whose profile to use)") }
        if member != nil && mesh == nil { throw ValidationError("--as needs --mesh DIR (where the profiles are)") }
        if let member { try ArgumentCheck.memberID(member, "--as") }
        if let node, let problem = Self.endpointProblem(node) { throw ValidationError("--node: \(problem)") }
        if let timeout, !(timeout > 0 && timeout <= Self.maxTimeout) {
            throw ValidationError(
                "--timeout must be a number of seconds above 0 and at most \(Int(Self.maxTimeout)), not \(timeout)"
            )
        }
    }

    /// The profile path the options name (--client, --mesh/--as, then $COOP_CLIENT), or `nil`.
    var profilePath: String? {
        if let client { return client }
        if let mesh, let member { return mesh + "/clients/" + member + ".toml" }
        return Self.profileFromEnvironment
    }

    /// The deadline of one call.
    var callTimeout: Duration { .milliseconds(Int64((timeout ?? Self.defaultTimeout) * 1000)) }

    /// Why `endpoint` is not one a client can connect to, or `nil`.
    static func endpointProblem(_ endpoint: String) -> String? {
        let schemes = ["tcp://", "ipc://"]
        guard let scheme = schemes.first(where: { endpoint.hasPrefix($0) }) else {
            return "\(CLIOutput.quoted(endpoint)) is not an endpoint; give tcp://HOST:PORT or ipc://PATH"
        }
        let rest = endpoint.dropFirst(scheme.count)
        if rest.isEmpty || rest.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 } == true }) {
            return "\(CLIOutput.quoted(endpoint)) is not an endpoint; give tcp://HOST:PORT or ipc://PATH"
        }
        if scheme == "tcp://" {
            guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]),
                (1...65_535).contains(port), colon != rest.startIndex
            else {
                return "\(CLIOutput.quoted(endpoint)) has no host and port 1–65535; give tcp://HOST:PORT"
            }
        }
        return nil
    }

    /// Where and how to connect: the profile's endpoint (or --node / `endpoint`) with its keys, or plain text.
    /// Reads the profile and the key files; throws a ``ClientError`` naming the file and key that are wrong.
    func target(endpoint override: String? = nil) throws(ClientError) -> ClientTarget {
        let endpoint = override ?? node
        guard let path = profilePath else {
            guard insecure, let endpoint else {
                throw ClientError(
                    "no client profile: give --client FILE, or --mesh DIR --as MEMBER, or set \(Self.profileVariable)="
                        + "FILE (a profile says which node to reach and with which keys); for a plain-text node, "
                        + "give --insecure with the endpoint",
                    exitCode: CLIOutput.usage
                )
            }
            return ClientTarget(endpoint: endpoint, curve: nil, label: "plain text")
        }
        let profile = try ClientProfile.load(path: path)
        let to = endpoint ?? profile.endpoint
        if insecure || profile.insecure {
            return ClientTarget(endpoint: to, curve: nil, label: "\(profile.member) → \(profile.node), plain text")
        }
        guard let serverKey = profile.serverCurvePublicKey else {
            throw profile.problem(
                "server_curve_public_key",
                "missing; a CurveZMQ connection needs the node's public key (or use --insecure for a plain-text node)"
            )
        }
        let keys = try profile.readKeys()
        return ClientTarget(
            endpoint: to,
            curve: .init(serverPublicKey: serverKey, publicKey: keys.curvePublicKey, secretKey: keys.curveSecretKey),
            label: "\(profile.member) → \(profile.node)"
        )
    }
}
