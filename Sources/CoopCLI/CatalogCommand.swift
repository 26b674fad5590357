import ArgumentParser
import CoopLedger
import CoopWire

/// `coop catalog …`: the 40 joint cooperation items.
struct CatalogCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Show and check the catalog of joint cooperation items.",
        subcommands: [CatalogList.self, CatalogCheck.self]
    )
}

/// Options naming the reference files.
struct ReferenceOptions: ParsableArguments {
    @Option(name: .long, help: "The catalog file (JSON of coop.v1.Catalog).")
    var catalog: String = "deploy/catalog.json"

    @Option(name: .long, help: "The roster file (JSON of coop.v1.Roster); participants are checked against it.")
    var roster: String?

    func validate() throws {
        try ArgumentCheck.notEmpty(catalog, "--catalog")
        try ArgumentCheck.notEmpty(roster, "--roster")
    }
}

struct CatalogList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the items: id, titles in Chinese and English, seed section, participants, due date."
    )

    @OptionGroup var files: ReferenceOptions

    @Flag(name: .long, help: "Print the catalog as JSON (the coop.v1.Catalog mapping) for scripts.")
    var json = false

    func run() async throws {
        let book: CatalogBook
        do {
            let roster = try files.roster.map { try RosterBook.load(path: $0) }
            book = try CatalogBook.load(path: files.catalog, roster: roster)
        } catch {
            throw CLIOutput.fail(error)
        }
        if json {
            CLIOutput.out(JSONWriter.write(try ProtoJSON.json(book.catalog)))
            return
        }
        var table = TextTable(["ID", "标题 / Title", "Section", "Participants", "Due", "Sign-off"])
        for item in book.items {
            table.add([
                item.id, item.titleZh, item.seedSection, item.participants.joined(separator: ", "), item.dueDate,
                item.requiresSignOff ? "both sides" : "-",
            ])
            table.add(["", item.titleEn, "", "", "", ""])
        }
        CLIOutput.out(table.render())
        CLIOutput.out("\n\(book.items.count) items · catalog \(book.catalog.version) · \(book.hash)")
    }
}

struct CatalogCheck: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check a catalog file; exit 0 only when it is valid.",
        discussion: """
            Checks: 40 items with unique ids, required fields present, due dates valid, and with --roster, \
            every participant a peer in the roster and both sides present where a sign-off is required. \
            Prints every problem with the file, line and item, and the content hash nodes compare.
            """
    )

    @Argument(help: "The catalog file to check.")
    var file: String

    @Option(name: .long, help: "The roster file; participants are checked against it.")
    var roster: String?

    func validate() throws {
        try ArgumentCheck.notEmpty(file, "<file>")
        try ArgumentCheck.notEmpty(roster, "--roster")
    }

    func run() async throws {
        do {
            let rosterBook = try roster.map { try RosterBook.load(path: $0) }
            let book = try CatalogBook.load(path: file, roster: rosterBook)
            CLIOutput.out("ok: \(file): \(book.items.count) items, catalog \(book.catalog.version), \(book.hash)")
            if let rosterBook {
                CLIOutput.out("ok: \(roster!): \(rosterBook.roster.members.count) members, \(rosterBook.hash)")
            }
        } catch {
            throw CLIOutput.fail(error)
        }
    }
}
