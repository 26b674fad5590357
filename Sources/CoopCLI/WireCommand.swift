import ArgumentParser
import CoopLedger
import CoopWire

/// `coop wire …`: protobuf ⇄ JSON for any message type of proto/coop/v1.
struct WireCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wire",
        abstract: "Convert messages between protobuf binary and JSON; list message types and services.",
        subcommands: [WireEncode.self, WireDecode.self, WireList.self]
    )
}

/// How binary data is written on a terminal or in a pipe.
enum BinaryFormat: String, ExpressibleByArgument, CaseIterable {
    case binary, hex, base64
}

struct WireEncode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "encode",
        abstract: "Read JSON on stdin, write the protobuf encoding of MESSAGE on stdout."
    )

    @Argument(help: "Full message name, e.g. coop.v1.SignedEntry (see `coop wire list`).")
    var message: String

    @Option(name: .long, help: "Output: binary, hex or base64.")
    var format: BinaryFormat = .binary

    func run() async throws {
        let bytes: [UInt8]
        do {
            let json = try JSONParser.parse(CLIOutput.readStandardInput())
            bytes = try ProtoJSON.bytes(messageName: message, json: json)
        } catch {
            throw CLIOutput.fail(error)
        }
        switch format {
        case .binary: CLIOutput.writeBytes(bytes)
        case .hex: CLIOutput.out(Hex.encode(bytes))
        case .base64: CLIOutput.out(Base64.encode(bytes))
        }
    }
}

struct WireDecode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Read the protobuf encoding of MESSAGE on stdin, write its JSON on stdout."
    )

    @Argument(help: "Full message name, e.g. coop.v1.SignedEntry (see `coop wire list`).")
    var message: String

    @Option(name: .long, help: "Input: binary, hex or base64.")
    var format: BinaryFormat = .binary

    @Flag(name: .long, help: "One line of JSON instead of indented.")
    var compact = false

    func run() async throws {
        let input = CLIOutput.readStandardInput()
        let bytes: [UInt8]
        switch format {
        case .binary: bytes = input
        case .hex, .base64:
            let text = String(decoding: input, as: UTF8.self).filter { !$0.isWhitespace }
            guard let decoded = format == .hex ? Hex.decode(text) : Base64.decode(text) else {
                throw CLIOutput.fail("standard input is not \(format.rawValue) text")
            }
            bytes = decoded
        }
        do {
            CLIOutput.out(JSONWriter.write(try ProtoJSON.json(messageName: message, bytes: bytes), pretty: !compact))
        } catch {
            throw CLIOutput.fail(error)
        }
    }
}

struct WireList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List the message types and the services with their methods."
    )

    func run() async throws {
        CLIOutput.out("Services:")
        for service in MessageRegistry.services {
            CLIOutput.out("  \(service.name)")
            for m in service.methods {
                let output = m.serverStreaming ? "stream \(m.outputType)" : m.outputType
                CLIOutput.out("    \(m.fullName)(\(m.inputType)) returns (\(output))")
            }
        }
        CLIOutput.out("Messages:")
        for name in MessageRegistry.messageNames {
            CLIOutput.out("  \(name)")
        }
    }
}
