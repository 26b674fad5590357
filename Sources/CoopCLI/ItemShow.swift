import ArgumentParser
import CoopWire

/// `coop item show ITEM`: one item, its catalog entry and state (`Ledger/GetItem`).
struct ItemShow: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show one item: its catalog entry and its state."
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
            try await ledger.getItem(GetItemRequest(itemId: item), options: options)
        }
        try output.print(response) { ItemTable.render($0, language: output.lang) }
    }
}
