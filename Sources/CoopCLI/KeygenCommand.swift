import ArgumentParser
import CoopLedger
import CoopWire

/// `coop keygen`: a member's private keys and its roster entry.
struct KeygenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Create a signing key (Ed25519) and a CurveZMQ key pair for a node or client.",
        discussion: """
            Writes NAME.signing.key and NAME.curve.key into DIR with mode 0600 and never overwrites a file. \
            Prints the member's entry for the roster's "members" list, public keys in base64.
            """
    )

    @Option(name: .long, help: "Directory for the key files (created if missing).")
    var out: String

    @Option(name: .long, help: "Roster id of the node or client, e.g. cq-shapingba.")
    var name: String

    @Option(name: .long, help: "Side: chengdu or chongqing.")
    var side: SideArgument = .chongqing

    @Option(name: .long, help: "Role: peer, staff or auditor.")
    var role: RoleArgument = .peer

    @Option(name: .long, help: "For staff and auditors: the node they talk to.")
    var homeNode: String = ""

    func validate() throws {
        try ArgumentCheck.notEmpty(out, "--out")
        try ArgumentCheck.memberID(name, "--name")
        if role == .peer {
            guard homeNode.isEmpty else { throw ValidationError("--home-node is for staff and auditors, not a peer") }
        } else {
            guard !homeNode.isEmpty else { throw ValidationError("--role \(role.rawValue) needs --home-node") }
            try ArgumentCheck.memberID(homeNode, "--home-node")
        }
    }

    func run() async throws {
        let keys = NodeKeys.generate(name: name)
        do {
            try keys.write(to: out)
        } catch {
            throw CLIOutput.fail(error)
        }
        let member = keys.rosterMember(side: side.side, role: role.role, homeNode: homeNode)
        CLIOutput.err("wrote \(out)/\(NodeKeys.signingFile(name)) and \(out)/\(NodeKeys.curveFile(name)) (mode 0600)")
        CLIOutput.out(JSONWriter.write(try ProtoJSON.json(member)))
    }
}

enum SideArgument: String, ExpressibleByArgument, CaseIterable {
    case chengdu, chongqing
    var side: Side { self == .chengdu ? .chengdu : .chongqing }
}

enum RoleArgument: String, ExpressibleByArgument, CaseIterable {
    case peer, staff, auditor
    var role: Role {
        switch self {
        case .peer: .peer
        case .staff: .staff
        case .auditor: .auditor
        }
    }
}
