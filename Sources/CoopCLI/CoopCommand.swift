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
        subcommands: [
            DemoCommand.self, NodeCommand.self, ItemCommand.self, CallCommand.self, CatalogCommand.self,
            WireCommand.self,
            KeygenCommand.self, AuditCommand.self, ReportCommand.self, DevCommand.self,
        ]
    )

    public init() {}
}

extension CoopCommand {
    /// Runs `coop` on the process's command line, first refusing (exit 64) an argument that is not UTF-8: Swift would
    /// read its bytes as U+FFFD and the command would act on another path or name than the one given.
    public static func mainCheckingArguments() async {
        for index in 1..<Int(CommandLine.argc) {
            guard let argument = CommandLine.unsafeArgv[index], String(validatingCString: argument) == nil else {
                continue
            }
            CLIOutput.err(
                "error: argument \(index) (\(CLIOutput.quoted(String(cString: argument)))) is not valid UTF-8; "
                    + "coop takes paths, names and values in UTF-8"
            )
            Self.exit(withError: ExitCode(CLIOutput.usage))
        }
        await main(nil)
    }
}
