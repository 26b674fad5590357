import ArgumentParser
import CoopWire

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
            guard !comment.isEmpty else {
                throw CLIOutput.fail("<text> -: standard input is empty; nothing to comment")
            }
            if let problem = WireText.problem(comment) { throw CLIOutput.fail("<text> -: \(problem)") }
        }
        let request = AddCommentRequest(itemId: item, text: comment, author: author ?? "")
        let response = try await connection.withLedger { ledger, options in
            try await ledger.addComment(request, options: options)
        }
        try output.print(response) { ItemAppend.summary($0, language: output.lang) }
    }
}
