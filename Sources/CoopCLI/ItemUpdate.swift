import ArgumentParser
import CoopWire

/// `coop item update ITEM --status S …`: append a status update (`Ledger/UpdateStatus`). The node signs it; the
/// authenticated member is recorded by the node, never taken from an option.
struct ItemUpdate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "update",
        abstract: "Append a status update to an item.",
        discussion: """
            The node refuses an update that breaks the life cycle (FAILED_PRECONDITION, exit 1) or an item it does \
            not take part in (PERMISSION_DENIED, exit 4). With --expect-heads the update is refused unless those \
            are exactly the item's current heads (as `coop item show` lists them): no one else's update is \
            overwritten unseen.
            """
    )

    @Argument(help: "The item id, e.g. CY-07.")
    var item: String

    @Option(
        name: .long,
        help: "The new status: planned, assigned, in-progress, delayed, completed, suspended, cancelled."
    )
    var status: String

    @Option(name: .long, parsing: .unconditional, help: "Progress in percent, 0 to 100.")
    var progress: Int = 0

    @Option(name: .long, help: "A note for the update.")
    var note: String?

    @Option(name: .long, help: "Who reports it (a person).")
    var reporter: String?

    @Option(name: .long, help: "The department assigned.")
    var assignee: String?

    @Option(
        name: .customLong("expect-heads"),
        help: ArgumentHelp("Refuse unless these are the item's current heads (hex or base64).", valueName: "id,…")
    )
    var expectHeads: [String] = []

    @OptionGroup var connection: ClientOptions
    @OptionGroup var output: ItemOutputOptions

    func validate() throws {
        try ArgumentCheck.itemID(item, "<item>")
        _ = try ArgumentCheck.status(status, "--status")
        guard (0...100).contains(progress) else {
            throw ValidationError("--progress must be 0 to 100 (percent), not \(progress)")
        }
        try ArgumentCheck.text(note, "--note")
        try ArgumentCheck.text(reporter, "--reporter")
        try ArgumentCheck.text(assignee, "--assignee")
        _ = try ArgumentCheck.entryIDs(expectHeads, "--expect-heads")
    }

    func run() async throws {
        let request = UpdateStatusRequest(
            itemId: item,
            status: try ArgumentCheck.status(status, "--status"),
            progress: UInt32(progress),
            note: note ?? "",
            reporter: reporter ?? "",
            assignee: assignee ?? "",
            expectedHeads: try ArgumentCheck.entryIDs(expectHeads, "--expect-heads")
        )
        let response = try await connection.withLedger { ledger, options in
            try await ledger.updateStatus(request, options: options)
        }
        try output.print(response) { ItemAppend.summary($0, language: output.lang) }
    }
}
