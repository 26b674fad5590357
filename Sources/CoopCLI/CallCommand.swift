import ArgumentParser
import CoopRPC
import CoopServices
import CoopWire

/// `coop call [ENDPOINT] [METHOD [JSON]]`: a generic client, like grpcurl, driven by the server's reflection service
/// alone (`/coop.v1.Reflection/ListServices` and `GetFileDescriptorSet`); no `.proto` files.
struct CallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call any method of a node by name, with JSON; list and describe what it serves.",
        usage: """
            coop call [ENDPOINT] [<options>]                      list services and methods
            coop call [ENDPOINT] describe TYPE|SERVICE|METHOD [<options>]
            coop call [ENDPOINT] METHOD [JSON|-] [<options>]      call; JSON defaults to {}, - reads stdin
            """,
        discussion: """
            ENDPOINT (tcp://HOST:PORT or ipc://PATH) may be left out when a profile gives it; the keys come from \
            the profile (--client, --mesh/--as, $COOP_CLIENT), or --insecure connects in plain text. METHOD is \
            coop.v1.Ledger/GetItem, /coop.v1.Ledger/GetItem or Ledger.GetItem. A unary answer is printed as \
            indented JSON (--compact: one line); a stream's messages one JSON object a line, until it ends or \
            Ctrl-C (a stream has no deadline unless --timeout is given). The JSON of requests and answers is \
            mapped for the message types this build of coop knows; `describe` works for any type the server \
            serves. Exit codes as for `coop item`: 1 invalid input or refused request, 2 unreadable profile or \
            key, 3 unreachable or too slow, 4 not admitted or not allowed, 5 the node failed or lacks the method, \
            64 wrong command line.
            """
    )

    @Argument(help: ArgumentHelp("[ENDPOINT] then nothing, describe SYMBOL, or METHOD [JSON|-].", valueName: "words"))
    var words: [String] = []

    @Option(
        name: [.customShort("H"), .customLong("header")],
        help: ArgumentHelp("Request metadata.", valueName: "key:value")
    )
    var headers: [String] = []

    @Flag(name: .long, help: "Print a unary answer on one line.")
    var compact = false

    @Option(
        name: .customLong("for"),
        parsing: .unconditional,
        help: ArgumentHelp("End a server stream after this many seconds (exit 0).", valueName: "seconds")
    )
    var duration: Double?

    @OptionGroup var connection: ClientOptions

    /// What the words ask for.
    enum Action: Equatable {
        case list
        case describe(String)
        case call(method: String, json: String)
    }

    /// The endpoint among the words (the first, when it has a scheme) and what the rest ask for.
    static func parse(_ words: [String]) throws -> (endpoint: String?, action: Action) {
        var rest = words[...]
        var endpoint: String?
        if let first = rest.first, first.contains("://") {
            if let problem = ClientOptions.endpointProblem(first) { throw ValidationError("<endpoint>: \(problem)") }
            endpoint = first
            rest = rest.dropFirst()
        }
        switch (rest.first, rest.count) {
        case (nil, _): return (endpoint, .list)
        case ("describe"?, 2): return (endpoint, .describe(rest[rest.startIndex + 1]))
        case ("describe"?, _): throw ValidationError("describe takes one TYPE, SERVICE or METHOD")
        case (let method?, 1...2):
            guard MethodName.split(method) != nil else {
                throw ValidationError(
                    "\(CLIOutput.quoted(method)) is not a method or an endpoint; give SERVICE/METHOD, e.g. "
                        + "coop.v1.Ledger/GetItem, or an endpoint with its scheme, tcp://HOST:PORT"
                )
            }
            return (endpoint, .call(method: method, json: rest.count == 2 ? rest[rest.startIndex + 1] : "{}"))
        default:
            throw ValidationError("too many words: give [ENDPOINT] METHOD [JSON]; quote the JSON as one argument")
        }
    }

    /// The request metadata of the `-H key:value` options.
    static func metadata(_ headers: [String]) throws -> RPCMetadata {
        var metadata = RPCMetadata()
        for header in headers {
            guard let colon = header.firstIndex(of: ":") else {
                throw ValidationError("-H \(CLIOutput.quoted(header)) is not key:value")
            }
            var value = header[header.index(after: colon)...]
            if value.first == " " { value = value.dropFirst() }
            do {
                try metadata.add(String(header[..<colon]), String(value))
            } catch {
                throw ValidationError("-H \(CLIOutput.quoted(header)): \(error.message)")
            }
        }
        return metadata
    }

    func validate() throws {
        let (endpoint, _) = try Self.parse(words)
        if endpoint != nil && connection.node != nil { throw ValidationError("give ENDPOINT or --node, not both") }
        _ = try Self.metadata(headers)
        if let duration, !(duration > 0 && duration <= ClientOptions.maxTimeout) {
            throw ValidationError(
                "--for must be a number of seconds above 0 and at most \(Int(ClientOptions.maxTimeout)), not \(duration)"
            )
        }
    }

    func run() async throws {
        let (endpoint, action) = try Self.parse(words)
        let metadata = try Self.metadata(headers)
        var request: JSONValue?
        if case .call(_, let text) = action {
            let bytes = text == "-" ? CLIOutput.readStandardInput() : Array(text.utf8)
            do {
                request = try JSONParser.parse(bytes)
            } catch {
                throw CLIOutput.fail("\(text == "-" ? "standard input" : "<json>") is not JSON: \(error)")
            }
        }
        let target: ClientTarget
        do { target = try connection.target(endpoint: endpoint) } catch { throw error.fail() }
        let unary = RPCCallOptions(timeout: connection.callTimeout, metadata: metadata)
        let stream = RPCCallOptions(timeout: duration.map { .milliseconds(Int64($0 * 1000)) }, metadata: metadata)
        try await ClientConnection.with(target) { [compact] client in
            let reflection = ReflectionService.Client(client.rpc)
            switch action {
            case .list:
                let services = try await reflection.listServices(options: unary).services
                CLIOutput.out(Self.listing(services))
            case .describe(let symbol):
                let bytes = try await reflection.getFileDescriptorSet(options: unary).fileDescriptorSet
                let set: DescriptorSet
                do { set = try DescriptorSet(bytes: bytes) } catch {
                    throw ClientError(
                        "the node's descriptor set does not decode: \(error)",
                        exitCode: ClientExit.server
                    )
                }
                guard let text = set.describe(symbol) else {
                    throw ClientError("the node's descriptor set has no type, service or method named \(symbol)")
                }
                CLIOutput.out(text.hasSuffix("\n") ? String(text.dropLast()) : text)
            case .call(let name, _):
                let services = try await reflection.listServices(options: unary).services
                let method = try MethodName.resolve(name, in: services)
                let body = try CallCodec.encode(request ?? .object([]), as: method.inputType, method: method.fullName)
                if method.serverStreaming {
                    if try await Self.stream(client.rpc, method, body, options: stream) {
                        await client.flush()
                        CLIOutput.err("stream ended (interrupted)")
                    }
                } else {
                    let response = try await client.rpc.unary(method.fullName, body, options: unary)
                    let json = try CallCodec.decode(response.body, as: method.outputType, method: method.fullName)
                    CLIOutput.out(JSONWriter.write(json, pretty: !compact))
                }
            }
        }
    }

    /// Every service and method, streaming ones marked `stream`.
    static func listing(_ services: [ServiceInfo]) -> String {
        services.map { service in
            ([service.name]
                + service.methods.map { m in
                    "  "
                        + DescriptorSet.signature(
                            nil,
                            .init(
                                name: m.name,
                                inputType: m.inputType,
                                outputType: m.outputType,
                                clientStreaming: m.clientStreaming,
                                serverStreaming: m.serverStreaming
                            )
                        )
                })
                .joined(separator: "\n")
        }
        .joined(separator: "\n")
    }

    /// Prints each message of a server stream on one line until it ends, --for passes or Ctrl-C; returns whether
    /// Ctrl-C ended it.
    private static func stream(
        _ rpc: RPCClient,
        _ method: MethodInfo,
        _ body: [UInt8],
        options: RPCCallOptions
    ) async throws -> Bool {
        let messages = try rpc.serverStream(method.fullName, body, options: options)
        let interrupted = try await Interrupt.cancellingOnInterrupt {
            do {
                for try await message in messages {
                    let json = try CallCodec.decode(message, as: method.outputType, method: method.fullName)
                    CLIOutput.out(JSONWriter.write(json, pretty: false))
                }
            } catch let error as RPCError where error.code == .deadlineExceeded && options.timeout != nil {
                return  // --for has passed: the end asked for.
            }
        }
        return interrupted
    }
}
