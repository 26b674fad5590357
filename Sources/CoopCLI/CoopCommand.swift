public import ArgumentParser

/// The `coop` command line.
@available(macOS 10.15, *)
public struct CoopCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "coop",
        abstract: "CoopLedger: the shared ledger (台账) of the Chengdu–Chongqing joint cooperation items.",
        discussion: """
            Exit codes: 0 success; 1 the input or data is invalid, or a check found a problem; \
            2 a file could not be read or written; 64 the command line is wrong.
            """,
        version: CoopVersion.description,
        subcommands: [CatalogCommand.self, WireCommand.self, KeygenCommand.self, AuditCommand.self, DevCommand.self]
    )

    public init() {}
}
