import ArgumentParser
import CoopRPC
import CoopServices
import CoopWire

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

/// How `coop item` prints what the node answered.
struct ItemOutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print the answer as JSON (the proto3 JSON mapping of the response message).")
    var json = false

    @Option(name: .long, help: "Language of column headers and titles: en or zh.")
    var lang: ItemTable.Language = .en

    /// Prints `message` as JSON (indented) or as `table(message)`.
    func print<M: WireMessage>(_ message: M, table: (M) -> String) throws {
        guard json else {
            CLIOutput.out(table(message))
            return
        }
        CLIOutput.out(JSONWriter.write(try Self.json(message)))
    }

    /// The JSON of a message the node sent; a message that cannot be mapped (text that is not UTF-8) exits 5.
    static func json<M: WireMessage>(_ message: M) throws -> JSONValue {
        do {
            return try ProtoJSON.json(message)
        } catch {
            throw CLIOutput.fail("the node's \(M.protoName) cannot be shown as JSON: \(error)", code: ClientExit.server)
        }
    }
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
