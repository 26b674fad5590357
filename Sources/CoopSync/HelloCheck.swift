public import CoopWire

/// Checks the `Hello` a peer sent against this node's own: the same protocol version, catalog and roster, and the
/// node id the configuration expects at that endpoint. Pure; thread-safe.
public enum HelloCheck {
    /// The sync protocol version this code speaks.
    /// 2: pulls in `EntryBatch` messages, signatures checked by libsodium's rules (version 1 nodes verified with
    /// swift-crypto's laxer ones; the two must not mix in one mesh, docs/SYNC.md).
    public static let protocolVersion: UInt32 = 2

    /// Throws a ``SyncError`` naming both nodes and both values when `remote` cannot reconcile with `local`.
    /// `expectedPeer` is the id configured for the peer (`nil` on the serving side, which learns it from the key).
    public static func check(local: Hello, remote: Hello, expectedPeer: String?) throws(SyncError) {
        let them = remote.nodeId.isEmpty ? "the peer" : remote.nodeId
        if let expectedPeer, remote.nodeId != expectedPeer {
            throw SyncError(
                code: .wrongPeer,
                message: "the peer configured as \(expectedPeer) answered as \"\(remote.nodeId)\"; check its endpoint "
                    + "in \(local.nodeId)'s [[peers]]"
            )
        }
        guard remote.protocolVersion == protocolVersion else {
            throw SyncError(
                code: .protocolVersion,
                message: "\(them) speaks sync protocol version \(remote.protocolVersion); \(local.nodeId) speaks "
                    + "\(protocolVersion)"
            )
        }
        guard remote.catalogHash == local.catalogHash else {
            throw SyncError(
                code: .catalogMismatch,
                message: "\(them) holds catalog \(hex(remote.catalogHash)), \(local.nodeId) holds "
                    + "\(hex(local.catalogHash)); both must load the same catalog file"
            )
        }
        guard remote.rosterHash == local.rosterHash else {
            throw SyncError(
                code: .rosterMismatch,
                message: "\(them) holds roster \(hex(remote.rosterHash)), \(local.nodeId) holds "
                    + "\(hex(local.rosterHash)); both must load the same roster file"
            )
        }
    }

    /// The first 12 hex digits of a hash (enough to tell two apart in a log line).
    static func hex(_ bytes: [UInt8]) -> String {
        guard !bytes.isEmpty else { return "(none)" }
        let digits = Array("0123456789abcdef")
        return String(bytes.prefix(6).flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }
}
