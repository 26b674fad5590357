public import CoopLedger
public import CoopWire

/// Hand-made signed entries of an example node, for tests that need what a well-behaved node would never
/// write (forks, gaps, bad chains).
public struct EntryFactory {
    public let origin: String
    private let signer: EntrySigner

    /// Entries signed with `origin`'s key from `keysDirectory` (the demo keys of deploy/demo/keys by default).
    public init(origin: String, keysDirectory: String = Fixtures.keysPath) throws {
        self.origin = origin
        self.signer = try NodeKeys.read(name: origin, from: keysDirectory).makeSigner()
    }

    /// A signed entry; `previous` is the id of the entry before it (nil for sequence 1).
    public func entry(
        sequence: UInt64,
        previous: EntryID?,
        payload: EntryBody.Payload,
        parents: [EntryID] = [],
        wallMs: UInt64 = 1_700_000_000_000
    ) -> SignedEntry {
        let body = EntryBody(
            origin: origin,
            sequence: sequence,
            previous: previous?.bytes ?? [],
            timestamp: HybridTimestamp(wallMs: wallMs + sequence, logical: 0),
            parents: parents.sorted().map(\.bytes),
            payload: payload
        )
        let bytes = body.wireBytes()
        return SignedEntry(body: bytes, signature: signer.sign(bytes))
    }

    /// A chain of `count` comments on `item`, sequence numbers 1…count.
    public func chain(_ count: Int, item: String = "CY-01", note: String = "") -> [SignedEntry] {
        var out: [SignedEntry] = []
        var previous: EntryID?
        for i in 1...count {
            let e = entry(
                sequence: UInt64(i),
                previous: previous,
                payload: .comment(Comment(itemId: item, text: "comment \(i) \(note)"))
            )
            out.append(e)
            previous = EntryID(of: e)
        }
        return out
    }
}
