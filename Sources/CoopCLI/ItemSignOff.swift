import ArgumentParser
import CoopWire

/// `coop item sign-off ITEM --entry HEX`: sign off a COMPLETED update (`Ledger/SignOff`).
struct ItemSignOff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign-off",
        abstract: "Sign off a COMPLETED update of an item (for items both sides must confirm)."
    )

    @Argument(help: "The item id, e.g. CY-07.")
    var item: String

    @Option(
        name: .long,
        help: ArgumentHelp("The COMPLETED update's entry id (64 hex digits, or base64).", valueName: "id")
    )
    var entry: String

    @Option(name: .long, help: "Who signs off (a person).")
    var signer: String?

    @Option(name: .long, help: "A note.")
    var note: String?

    @OptionGroup var connection: ClientOptions
    @OptionGroup var output: ItemOutputOptions

    func validate() throws {
        try ArgumentCheck.itemID(item, "<item>")
        _ = try ArgumentCheck.entryID(entry, "--entry")
        try ArgumentCheck.text(signer, "--signer")
        try ArgumentCheck.text(note, "--note")
    }

    func run() async throws {
        let request = SignOffRequest(
            itemId: item,
            entryId: try ArgumentCheck.entryID(entry, "--entry"),
            signer: signer ?? "",
            note: note ?? ""
        )
        let response = try await connection.withLedger { ledger, options in
            try await ledger.signOff(request, options: options)
        }
        try output.print(response) { ItemAppend.summary($0, language: output.lang) }
    }
}
