import ArgumentParser
import CoopWire

/// How `coop item` prints what the node answered.
struct ItemOutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print the answer as JSON (the proto3 JSON mapping of the response message).")
    var json = false

    @Option(name: .long, help: "Language of column headers and titles: en or zh.")
    var lang: ItemTable.Language = .en

    /// Prints `message` as JSON (indented) or as `table(message)`.
    func print<M: WireMessage>(_ message: M, table: (M) -> String) throws {
        guard json else {
            CLIOutput.out(table(message))
            return
        }
        CLIOutput.out(JSONWriter.write(try Self.json(message)))
    }

    /// The JSON of a message the node sent; a message that cannot be mapped (text that is not UTF-8) exits 5.
    static func json<M: WireMessage>(_ message: M) throws -> JSONValue {
        do {
            return try ProtoJSON.json(message)
        } catch {
            throw CLIOutput.fail("the node's \(M.protoName) cannot be shown as JSON: \(error)", code: ClientExit.server)
        }
    }
}
