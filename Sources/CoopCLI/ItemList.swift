import ArgumentParser
import CoopWire

/// `coop item list`: the items with their state, optionally filtered (`Ledger/ListItems`).
struct ItemList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the items with their state, optionally filtered."
    )

    @Option(name: .long, help: "Only items in this status (repeat for several): planned, in-progress, completed, …")
    var status: [String] = []

    @Option(name: .long, help: "Only items this node takes part in, e.g. cd-wuhou.")
    var participant: String?

    @Flag(name: .long, help: "Only items with concurrent updates (more than one head).")
    var conflicts = false

    @OptionGroup var connection: ClientOptions
    @OptionGroup var output: ItemOutputOptions

    func validate() throws {
        for s in status { _ = try ArgumentCheck.status(s, "--status") }
        if let participant {
            try ArgumentCheck.notEmpty(participant, "--participant")
            try ArgumentCheck.memberID(participant, "--participant")
        }
    }

    func run() async throws {
        let request = ListItemsRequest(
            statuses: try status.map { try ArgumentCheck.status($0, "--status") },
            participant: participant ?? "",
            conflictsOnly: conflicts
        )
        let response = try await connection.withLedger { ledger, options in
            try await ledger.listItems(request, options: options)
        }
        try output.print(response) { response in
            ItemTable.render(response.items, language: output.lang) + "\n\n"
                + output.lang.pick("\(response.items.count) items", "共 \(response.items.count) 项")
        }
    }
}
