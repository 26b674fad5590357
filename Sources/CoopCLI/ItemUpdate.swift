import ArgumentParser
import CoopLedger
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

    @Option(name: .long, help: "The new status: planned, assigned, in-progress, delayed, completed, suspended, cancelled.")
    var status: String

    @Option(name: .long, help: "Progress in percent, 0 to 100.")
    var progress: Int = 0

    @Option(name: .long, help: "A note for the update.")
    var note: String?

    @Option(name: .long, help: "Who reports it (a person).")
    var reporter: String?

    @Option(name: .long, help: "The department assigned.")
    var assignee: String?

    @Option(
        name: .customLong("expect-heads"),
        help: ArgumentHelp("Refuse unless these are the item's current heads (64 hex digits each).", valueName: "hex,…")
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

/// `coop item comment ITEM TEXT`: append a comment (`Ledger/AddComment`).
struct ItemComment: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "comment",
        abstract: "Append a comment to an item.",
        discussion: "TEXT `-` reads the comment from standard input (UTF-8, no NUL)."
    )

    @Argument(help: "The item id, e.g. CY-07.")
    var item: String

    @Argument(help: "The comment, or - to read it from standard input.")
    var text: String

    @Option(name: .long, help: "Who writes it (a person).")
    var author: String?

    @OptionGroup var connection: ClientOptions
    @OptionGroup var output: ItemOutputOptions

    func validate() throws {
        try ArgumentCheck.itemID(item, "<item>")
        try ArgumentCheck.text(text, "<text>")
        try ArgumentCheck.text(author, "--author")
    }

    func run() async throws {
        var comment = text
        if text == "-" {
            guard let read = String(validating: CLIOutput.readStandardInput(), as: UTF8.self) else {
                throw CLIOutput.fail("<text> -: standard input is not UTF-8 text")
            }
            comment = read.hasSuffix("\n") ? String(read.dropLast()) : read
            guard !comment.isEmpty else { throw CLIOutput.fail("<text> -: standard input is empty; nothing to comment") }
            if let problem = WireText.problem(comment) { throw CLIOutput.fail("<text> -: \(problem)") }
        }
        let request = AddCommentRequest(itemId: item, text: comment, author: author ?? "")
        let response = try await connection.withLedger { ledger, options in
            try await ledger.addComment(request, options: options)
        }
        try output.print(response) { ItemAppend.summary($0, language: output.lang) }
    }
}

/// `coop item sign-off ITEM --entry HEX`: sign off a COMPLETED update (`Ledger/SignOff`).
struct ItemSignOff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign-off",
        abstract: "Sign off a COMPLETED update of an item (for items both sides must confirm)."
    )

    @Argument(help: "The item id, e.g. CY-07.")
    var item: String

    @Option(name: .long, help: ArgumentHelp("The COMPLETED update's entry id (64 hex digits).", valueName: "hex"))
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

/// What the node answered to a write, for people.
enum ItemAppend {
    /// `appended <entry> (origin #seq); CY-07 is now IN_PROGRESS 40%`.
    static func summary(_ response: AppendResponse, language: ItemTable.Language) -> String {
        let s = response.state ?? ItemState()
        let status = s.awaitingSignOff ? "\(ItemTable.short(s.status)) (awaiting sign-off)" : ItemTable.short(s.status)
        return language.pick("appended entry ", "已写入条目 ") + Hex.encode(response.entryId)
            + " (\(response.origin) #\(response.sequence))\n"
            + language.pick("\(s.itemId) is now \(status) \(s.progress)%", "\(s.itemId) 当前 \(status) \(s.progress)%")
    }
}
