public import CoopWire

/// A validated roster: every node and client, with its keys and role.
///
/// An immutable value; thread-safe.
public struct RosterBook: Sendable {
    /// The roster as loaded.
    public let roster: Roster
    /// SHA-256 of the canonical encoding (members sorted by id), which nodes compare.
    public let hash: ContentHash
    private let byID: [String: RosterMember]

    /// Validates `roster`; `path` names the file in errors.
    public init(_ roster: Roster, path: String = "roster", json: JSONValue? = nil) throws {
        var problems: [String] = []
        var byID: [String: RosterMember] = [:]
        if roster.version.isEmpty { problems.append("\(path): \"version\" is empty") }
        if roster.members.isEmpty { problems.append("\(path): no members") }
        for (index, m) in roster.members.enumerated() {
            let line = json.flatMap { ReferenceFile.line(in: $0, array: "members", index: index, key: "id") }
            let at = "\(path)\(line.map { ":\($0)" } ?? ""): members[\(index)]"
            let who = m.id.isEmpty ? at : "\(at) \"\(m.id)\""
            if !Identifier.isValid(m.id) {
                problems.append("\(at): id \"\(m.id)\" must be 1–64 of a–z, 0–9, '-', '.', starting with a letter")
            }
            if byID[m.id] != nil { problems.append("\(who): id is used twice") }
            byID[m.id] = m
            if m.side == .unspecified { problems.append("\(who): side is not set (SIDE_CHENGDU or SIDE_CHONGQING)") }
            if m.role == .unspecified {
                problems.append("\(who): role is not set (ROLE_PEER, ROLE_STAFF, ROLE_AUDITOR)")
            }
            if m.curvePublicKey.count != 32 {
                problems.append("\(who): curvePublicKey must be 32 bytes (base64), found \(m.curvePublicKey.count)")
            }
            if m.keyEpoch == 0 { problems.append("\(who): keyEpoch must be at least 1") }
            if m.role == .peer {
                if m.signingPublicKey.count != 32 {
                    problems.append(
                        "\(who): a peer needs a 32-byte signingPublicKey (base64), found \(m.signingPublicKey.count)"
                    )
                } else if !SignatureCheck.isUsableKey(m.signingPublicKey) {
                    problems.append(
                        "\(who): signingPublicKey is not a usable Ed25519 public key (not a canonical point of the "
                            + "main subgroup, or of small order); generate the member's keys again"
                    )
                }
                if !m.homeNode.isEmpty { problems.append("\(who): a peer has no homeNode") }
            } else if m.role != .unspecified {
                if m.homeNode.isEmpty { problems.append("\(who): staff and auditors need a homeNode") }
            }
        }
        for m in roster.members where !m.homeNode.isEmpty {
            if byID[m.homeNode]?.role != .peer {
                problems.append("\(path): member \"\(m.id)\": homeNode \"\(m.homeNode)\" is not a peer in the roster")
            }
        }
        guard problems.isEmpty else {
            throw LedgerError(code: .invalidRoster, message: problems.joined(separator: "\n"))
        }
        self.roster = roster
        self.byID = byID
        var canonical = roster
        canonical.members.sort { $0.id < $1.id }
        self.hash = ContentHash(of: canonical.wireBytes())
    }

    /// Loads and validates a roster file (the JSON mapping of `coop.v1.Roster`).
    public static func load(path: String) throws -> RosterBook {
        let (roster, json) = try ReferenceFile.load(Roster.self, path: path, code: .invalidRoster)
        return try RosterBook(roster, path: path, json: json)
    }

    /// The member of that id, or `nil`.
    public func member(_ id: String) -> RosterMember? { byID[id] }

    /// Every peer (node), sorted by id.
    public var peers: [RosterMember] { roster.members.filter { $0.role == .peer }.sorted { $0.id < $1.id } }

    /// Whether `id` may be a member's id: 1–64 of a–z, 0–9, '-', '.', starting with a letter.
    public static func isValidMemberID(_ id: String) -> Bool { Identifier.isValid(id) }
}

/// Rules for roster ids.
enum Identifier {
    static func isValid(_ id: String) -> Bool {
        guard (1...64).contains(id.utf8.count), let first = id.utf8.first,
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first)
        else { return false }
        return id.utf8.allSatisfy { c in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(c) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(c)
                || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
        }
    }
}
