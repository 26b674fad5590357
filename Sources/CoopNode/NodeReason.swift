import CoopLedger
import CoopLog
public import CoopRPC
import CoopSegments

/// The reasons a node's services give besides the RPC layer's (``RPCReason``), and how the store's errors become
/// statuses. Thread-safe (constants and pure functions).
public enum NodeReason {
    /// The item id is not in the catalog (NOT_FOUND).
    public static let unknownItem = "UNKNOWN_ITEM"
    /// A roster id named in the request is not in the roster (INVALID_ARGUMENT).
    public static let unknownMember = "UNKNOWN_MEMBER"
    /// A field's value is not acceptable (INVALID_ARGUMENT).
    public static let invalidValue = "INVALID_VALUE"
    /// Progress over 100 (INVALID_ARGUMENT).
    public static let progressOutOfRange = "PROGRESS_OUT_OF_RANGE"
    /// The life cycle does not allow the item's status to move so (FAILED_PRECONDITION).
    public static let invalidTransition = "INVALID_TRANSITION"
    /// The item's heads are not those the update expected (FAILED_PRECONDITION).
    public static let staleHeads = "STALE_HEADS"
    /// This node does not take part in the item (PERMISSION_DENIED).
    public static let notParticipant = "NOT_PARTICIPANT"
    /// The node is shutting down (UNAVAILABLE; retry on another node or later).
    public static let shuttingDown = "SHUTTING_DOWN"
    /// The log stopped taking writes after a failed write or sync (UNAVAILABLE until an operator restarts it).
    public static let logFailed = "LOG_FAILED"
    /// The store refused the write for another reason, named in the message (FAILED_PRECONDITION).
    public static let refused = "REFUSED"
    /// The node has not yet learned from a peer whether it holds all of its own entries; it signs nothing until it
    /// has (so that it cannot equivocate after losing the end of its log). Retry shortly.
    public static let ownLogUnconfirmed = "OWN_LOG_UNCONFIRMED"

    /// The status for an error the store threw on a write.
    public static func status(of error: any Error) -> RPCError {
        guard let error = error as? LogError else {
            return RPCError(code: .internal, message: "the write failed: \(error)")
        }
        if let ledger = error.cause as? LedgerError {
            switch ledger.code {
            case .unknownItem:
                return RPCError(code: .notFound, message: ledger.message, reason: unknownItem, cause: error)
            case .notParticipant:
                return RPCError(code: .permissionDenied, message: ledger.message, reason: notParticipant, cause: error)
            case .invalidTransition:
                return RPCError(
                    code: .failedPrecondition,
                    message: ledger.message,
                    reason: invalidTransition,
                    cause: error
                )
            case .resourceExhausted:
                return RPCError(code: .resourceExhausted, message: ledger.message, reason: refused, cause: error)
            default:
                return RPCError(code: .invalidArgument, message: ledger.message, reason: invalidValue, cause: error)
            }
        }
        switch error.code {
        case .refused:
            let stale = error.message.contains("heads changed")
            return RPCError(
                code: .failedPrecondition,
                message: error.message,
                reason: stale ? staleHeads : refused,
                cause: error
            )
        case .closed:
            return RPCError(
                code: .unavailable,
                message: "the node is shutting down; the write was not made",
                reason: shuttingDown,
                cause: error
            )
        default:
            return RPCError(
                code: .unavailable,
                message: "the node's log failed and takes no writes until an operator restarts it: \(error.message)",
                reason: logFailed,
                cause: error
            )
        }
    }
}
