import ArgumentParser

/// The `coop` command line.
public struct CoopCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "coop",
        abstract: "CoopLedger: the shared Chengdu–Chongqing cooperation ledger.",
        version: CoopVersion.description,
        subcommands: []
    )

    public init() {}
}
