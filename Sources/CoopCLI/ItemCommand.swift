import ArgumentParser
import CoopRPC
import CoopServices

/// `coop item …`: read and update the items on a node, as a staff member or auditor (over `coop.v1.Ledger`).
struct ItemCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "item",
        abstract: "Read and update the items on a node, as a staff member or auditor.",
        discussion: """
            Connects with a client profile: --client FILE, --mesh DIR --as MEMBER, or $COOP_CLIENT (see \
            docs/CLIENTS.md). Exit codes: 0 success; 1 the request or an input is invalid, or the node refused it \
            (INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND); 2 a profile or key file cannot be read; 3 the node \
            cannot be reached or did not answer in time (UNAVAILABLE, DEADLINE_EXCEEDED); 4 the key or member is not \
            allowed (UNAUTHENTICATED, PERMISSION_DENIED); 5 the node failed (INTERNAL, UNIMPLEMENTED); 64 the \
            command line is wrong.
            """,
        subcommands: [
            ItemList.self, ItemShow.self, ItemUpdate.self, ItemComment.self, ItemSignOff.self, ItemHistory.self,
            ItemWatch.self,
        ]
    )
}

extension ClientOptions {
    /// Reads the profile and keys (a wrong one exits before anything connects), connects, and runs `body` with a
    /// ledger client and the options of one call.
    func withLedger<T: Sendable>(
        _ body: (LedgerService.Client, RPCCallOptions) async throws -> T
    ) async throws -> T {
        let target: ClientTarget
        do { target = try self.target() } catch { throw error.fail() }
        return try await ClientConnection.with(target) { connection in
            try await body(LedgerService.Client(connection.rpc), RPCCallOptions(timeout: callTimeout))
        }
    }
}
