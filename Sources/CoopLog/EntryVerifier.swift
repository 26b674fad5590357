public import CoopLedger
public import CoopWire

/// An entry that passed the authenticity checks: decoded, canonical, signed by its origin's roster key.
public struct VerifiedEntry: Sendable {
    /// The canonical `SignedEntry` encoding (what the log stores and the id hashes).
    public var bytes: [UInt8]
    public var id: EntryID
    public var signed: SignedEntry
    public var body: EntryBody

    public var origin: String { body.origin }
    public var sequence: UInt64 { body.sequence }
}

/// An entry decoded and checked for everything but its signature (``EntryVerifier``); not yet authentic.
struct DecodedEntry: Sendable {
    var entry: VerifiedEntry
    var publicKey: [UInt8]
}

/// Why an entry is not authentic. Such entries are refused and never stored or relayed.
public struct AuthenticityError: Error, Sendable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}

/// Checks that an entry is authentic: a canonical encoding, a decodable body, a known peer origin, a sequence
/// number from 1, a well-formed previous hash, and a valid Ed25519 signature over the exact body bytes.
///
/// Pure functions of the entry and the roster; thread-safe (verify on any number of threads at once).
public struct EntryVerifier: Sendable {
    public let roster: RosterBook

    public init(roster: RosterBook) { self.roster = roster }

    /// The verified entry, or an ``AuthenticityError`` naming what is wrong.
    public func verify(_ signed: SignedEntry) throws(AuthenticityError) -> VerifiedEntry {
        try checkSignature(of: try decode(signed))
    }

    /// Everything but the signature check: decoded, canonical, a known peer origin, a well-formed chain link, and
    /// the entry's id. What a store needs to tell whether it already holds the entry before paying for the check.
    func decode(_ signed: SignedEntry) throws(AuthenticityError) -> DecodedEntry {
        let body: EntryBody
        do {
            body = try EntryBody(wireBytes: signed.body)
        } catch {
            throw AuthenticityError(reason: "the body does not decode: \(error)")
        }
        guard body.wireBytes() == signed.body else {
            throw AuthenticityError(
                reason: "the body of \(body.origin)#\(body.sequence) is not in canonical encoding; "
                    + "readers could disagree on what was signed"
            )
        }
        let at = "\(body.origin)#\(body.sequence)"
        guard let member = roster.member(body.origin) else {
            throw AuthenticityError(reason: "\(at): origin \"\(body.origin)\" is not in the roster")
        }
        guard member.role == .peer else {
            throw AuthenticityError(reason: "\(at): origin \"\(body.origin)\" is not a peer")
        }
        guard body.sequence >= 1 else { throw AuthenticityError(reason: "\(at): sequence numbers start at 1") }
        if body.sequence == 1 && !body.previous.isEmpty {
            throw AuthenticityError(reason: "\(at): the first entry of an origin has no previous hash")
        }
        if body.sequence > 1 && body.previous.count != 32 {
            throw AuthenticityError(reason: "\(at): the previous hash is not 32 bytes")
        }
        let canonical = SignedEntry(body: signed.body, signature: signed.signature)
        let bytes = canonical.wireBytes()
        return DecodedEntry(
            entry: VerifiedEntry(bytes: bytes, id: EntryID(digestOf: bytes), signed: canonical, body: body),
            publicKey: member.signingPublicKey
        )
    }

    /// The signature check of a decoded entry.
    func checkSignature(of decoded: DecodedEntry) throws(AuthenticityError) -> VerifiedEntry {
        let entry = decoded.entry
        guard entry.signed.signature.count == 64,
            SignatureCheck.isValid(
                signature: entry.signed.signature,
                of: entry.signed.body,
                publicKey: decoded.publicKey
            )
        else {
            throw AuthenticityError(
                reason: "\(entry.origin)#\(entry.sequence): the signature does not verify with \(entry.origin)'s "
                    + "roster key"
            )
        }
        return entry
    }

    /// Whether `evidence` proves an equivocation: two authentic entries of one origin and sequence number
    /// with different bodies. Returns the origin and sequence number, or throws naming what is wrong.
    public func verify(_ evidence: Equivocation) throws(AuthenticityError) -> (origin: String, sequence: UInt64) {
        guard let first = evidence.first, let second = evidence.second else {
            throw AuthenticityError(reason: "the evidence does not hold two entries")
        }
        let a = try verify(first)
        let b = try verify(second)
        guard a.origin == b.origin, a.sequence == b.sequence else {
            throw AuthenticityError(reason: "the evidence's entries are of different origins or sequence numbers")
        }
        guard a.id != b.id else { throw AuthenticityError(reason: "the evidence holds the same entry twice") }
        return (a.origin, a.sequence)
    }
}
