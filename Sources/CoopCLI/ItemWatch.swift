import ArgumentParser
import CoopRPC
import CoopServices
import CoopWire

/// `coop item watch [ITEM…]`: one line per change of an item's state, as the node applies it, until Ctrl-C or the
/// node ends the stream (`Ledger/WatchChanges`).
struct ItemWatch: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Print each change of the items' state as it happens, until Ctrl-C or the node ends the stream.",
        discussion: """
            Reaching the node is checked first, within --timeout; the stream itself has no deadline unless --for \
            is given. Ctrl-C cancels the stream on the node and exits 0, as does the end of --for. With --json, one \
            coop.v1.ItemChange object a line.
            """
    )

    @Argument(help: "Only these items (default: every item).")
    var items: [String] = []

    @Flag(name: .long, help: "First print the current state of each watched item.")
    var initial = false

    @Option(
        name: .customLong("for"),
        parsing: .unconditional,
        help: ArgumentHelp("Stop after this many seconds (exit 0).", valueName: "seconds")
    )
    var duration: Double?

    @OptionGroup var connection: ClientOptions
    @OptionGroup var output: ItemOutputOptions

    func validate() throws {
        for item in items { try ArgumentCheck.itemID(item, "<items>") }
        if let duration, !(duration > 0 && duration <= ClientOptions.maxTimeout) {
            throw ValidationError(
                "--for must be a number of seconds above 0 and at most \(Int(ClientOptions.maxTimeout)), not \(duration)"
            )
        }
    }

    func run() async throws {
        let target: ClientTarget
        do { target = try connection.target() } catch { throw error.fail() }
        let request = WatchChangesRequest(itemIds: items, sendInitial: initial)
        let (json, language) = (output.json, output.lang)
        let streamTimeout = duration.map { Duration.milliseconds(Int64($0 * 1000)) }
        try await ClientConnection.with(target) { [connection] client in
            try await client.checkReachable(timeout: connection.callTimeout)
            let stream = try LedgerService.Client(client.rpc).watchChanges(
                request,
                options: RPCCallOptions(timeout: streamTimeout)
            )
            let interrupted = try await Interrupt.cancellingOnInterrupt {
                do {
                    for try await change in stream {
                        CLIOutput.out(
                            json
                                ? JSONWriter.write(try ItemOutputOptions.json(change), pretty: false)
                                : ItemTable.line(change, language: language)
                        )
                    }
                } catch let error as RPCError where error.code == .deadlineExceeded && streamTimeout != nil {
                    return  // --for has passed: the end asked for.
                }
            }
            if interrupted {
                await client.flush()
                CLIOutput.err("watch ended (interrupted)")
            }
        }
    }
}
