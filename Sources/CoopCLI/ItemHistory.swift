import ArgumentParser
import CoopWire

/// `coop item history ITEM`: every entry about one item on the node, in log order (`Ledger/ItemHistory`).
struct ItemHistory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Show every entry about one item, in the node's log order, and how the node treated it."
    )

    @Argument(help: "The item id, e.g. CY-07.")
    var item: String

    @OptionGroup var connection: ClientOptions
    @OptionGroup var output: ItemOutputOptions

    func validate() throws {
        try ArgumentCheck.itemID(item, "<item>")
    }

    func run() async throws {
        let response = try await connection.withLedger { ledger, options in
            try await ledger.itemHistory(ItemHistoryRequest(itemId: item), options: options)
        }
        try output.print(response) { response in
            ItemTable.render(response.records, language: output.lang) + "\n\n"
                + output.lang.pick(
                    "\(response.records.count) entries about \(item)",
                    "\(item) 共 \(response.records.count) 条记录"
                )
        }
    }
}
