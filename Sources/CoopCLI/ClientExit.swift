import ArgumentParser
import CoopRPC

/// Exit codes of the client commands (`coop item`, `coop call`) for a call that did not end OK, by its status code,
/// besides ``CLIOutput``'s 0, 1, 2 and 64:
///
/// | exit | status codes | meaning |
/// |---|---|---|
/// | 1 | INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND, ALREADY_EXISTS, OUT_OF_RANGE, ABORTED | the node refused the request as given |
/// | 3 | UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, CANCELLED | the node could not be reached or answer now; try again |
/// | 4 | UNAUTHENTICATED, PERMISSION_DENIED | the key is not admitted, or the member may not do this |
/// | 5 | INTERNAL, UNKNOWN, UNIMPLEMENTED, DATA_LOSS, any other | the node failed, or does not offer the method |
enum ClientExit {
    /// The node could not be reached or could not answer in time.
    static let unavailable: Int32 = 3
    /// The key was refused, or the member may not do this.
    static let denied: Int32 = 4
    /// The node failed, or does not offer the method.
    static let server: Int32 = 5

    /// The exit code for a call that ended with `code`.
    static func code(for code: RPCStatus.Code) -> Int32 {
        switch code {
        case .invalidArgument, .failedPrecondition, .notFound, .alreadyExists, .outOfRange, .aborted:
            CLIOutput.invalid
        case .unavailable, .deadlineExceeded, .resourceExhausted, .cancelled:
            unavailable
        case .unauthenticated, .permissionDenied:
            denied
        default:
            server
        }
    }

    /// `error: CODE (REASON): message` for `error` (the reason left out when there is none).
    static func line(_ error: RPCError) -> String {
        let reason = error.reason.isEmpty ? "" : " (\(error.reason))"
        let message = error.message.isEmpty ? "" : ": \(error.message)"
        return "\(error.code)\(reason)\(message)"
    }

    /// Prints `error` on stderr and gives the exit to throw.
    static func fail(_ error: RPCError) -> ExitCode {
        CLIOutput.fail(line(error), code: code(for: error.code))
    }
}
