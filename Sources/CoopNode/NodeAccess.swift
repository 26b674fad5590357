public import CoopLedger
public import CoopRPC
import CoopServices
public import CoopWire

/// Who may call what on a node, from the caller's roster entry (its authenticated CurveZMQ key, never a request
/// field): staff write through their own node only; auditors read; peers read and sync. Pure; thread-safe.
public struct NodeAccess: Sendable {
    /// The node enforcing it.
    public let nodeID: String
    public let roster: RosterBook
    /// Plain text: no caller is authenticated, and every call is taken as this node's own staff's.
    public let insecure: Bool

    /// Ledger methods that append an entry.
    public static let writes: Set<String> = [
        LedgerService.Method.updateStatus.fullName,
        LedgerService.Method.addComment.fullName,
        LedgerService.Method.signOff.fullName,
    ]

    public init(nodeID: String, roster: RosterBook, insecure: Bool) {
        self.nodeID = nodeID
        self.roster = roster
        self.insecure = insecure
    }

    /// The caller's roster entry; throws UNAUTHENTICATED when a secure call has no known caller.
    public func member(_ context: RPCServerContext) throws(RPCError) -> RosterMember? {
        guard let caller = context.caller else {
            if insecure { return nil }
            throw RPCError(
                code: .unauthenticated,
                message: "\(context.method) needs an authenticated caller (CurveZMQ with a roster key)",
                reason: RPCReason.unauthenticated
            )
        }
        guard let member = roster.member(caller) else {
            throw RPCError(
                code: .unauthenticated,
                message: "the caller \(caller) is not in the roster",
                reason: RPCReason.unauthenticated
            )
        }
        return member
    }

    /// Throws PERMISSION_DENIED when the caller's role may not call `context.method` on this node.
    public func check(_ context: RPCServerContext) throws(RPCError) {
        guard let member = try member(context) else { return }
        let method = context.method
        // Status is for operators: any roster member may read it.
        let isSync = method.hasPrefix("/\(SyncService.name)/") && method != SyncService.Method.status.fullName
        switch member.role {
        case .staff:
            guard !isSync else { throw denied(member, method, "sync is for peer nodes") }
            if Self.writes.contains(method) && member.homeNode != nodeID {
                throw denied(
                    member,
                    method,
                    "staff write through their own node (\(member.homeNode.isEmpty ? "none set" : member.homeNode)), "
                        + "not \(nodeID)"
                )
            }
        case .auditor:
            if isSync || Self.writes.contains(method) { throw denied(member, method, "auditors read only") }
        case .peer:
            if Self.writes.contains(method) {
                throw denied(member, method, "a peer's entries arrive by sync, not through another node's writes")
            }
        default:
            throw denied(member, method, "the roster gives it no role")
        }
    }

    private func denied(_ member: RosterMember, _ method: String, _ why: String) -> RPCError {
        let role = String(member.role.protoValueName.dropFirst("ROLE_".count)).lowercased()
        return RPCError(
            code: .permissionDenied,
            message: "\(member.id) (\(role)) may not call \(method) on \(nodeID): \(why)",
            reason: RPCReason.permissionDenied
        )
    }
}
