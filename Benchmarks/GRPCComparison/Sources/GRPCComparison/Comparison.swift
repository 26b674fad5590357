import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Glibc

/// The comparison run: rounds that alternate grpc-swift (measured in this process) with CoopRPC (a fresh
/// `coop-bench rpc-unary` child per round), then the pooled figures, the ratio and the goal. Never asserts the goal.
enum Comparison {
    struct Options {
        var coopBench: String?
        var calls = 20_000
        var warmup = 2_000
        var rounds = 3
        var quick = false

        static let usage = """
            usage: grpc-comparison [--coop-bench PATH] [--quick] [--calls N] [--warmup N] [--rounds N]

              --coop-bench PATH  a release coop-bench: CoopRPC is measured by `PATH rpc-unary` children, in rounds
                                 alternating with grpc-swift (without it, only grpc-swift is measured)
              --quick            3,000 calls of each kind in 2 rounds, 500 warm-up calls
              --calls N          timed unary calls of each kind over all rounds (default 20,000)
              --warmup N         untimed calls before each kind's first round, and in each CoopRPC child (default 2,000)
              --rounds N         rounds (default 3)
            """

        init(_ arguments: [String]) throws {
            var rest = arguments[...]
            var calls: Int?
            var warmup: Int?
            var rounds: Int?
            func number(_ flag: String) throws -> Int {
                guard let text = rest.popFirst(), let n = Int(text), n > 0 else {
                    throw UsageError("\(flag) needs a positive whole number")
                }
                return n
            }
            while let arg = rest.popFirst() {
                switch arg {
                case "--coop-bench":
                    guard let path = rest.popFirst() else { throw UsageError("--coop-bench needs a path") }
                    coopBench = path
                case "--quick": quick = true
                case "--calls": calls = try number(arg)
                case "--warmup": warmup = try number(arg)
                case "--rounds": rounds = try number(arg)
                case "-h", "--help": throw UsageError("")
                default: throw UsageError("unknown argument \(arg)")
                }
            }
            self.calls = calls ?? (quick ? 3_000 : 20_000)
            self.warmup = warmup ?? (quick ? 500 : 2_000)
            self.rounds = rounds ?? (quick ? 2 : 3)
        }
    }

    struct UsageError: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    static func main(_ arguments: [String]) async -> Int32 {
        let options: Options
        do {
            options = try Options(Array(arguments.dropFirst()))
        } catch let error as UsageError {
            if !error.message.isEmpty { note("grpc-comparison: \(error.message)") }
            note(Options.usage)
            return error.message.isEmpty ? 0 : 2
        } catch {
            note("grpc-comparison: \(error)")
            return 2
        }
        do {
            try await run(options)
            return 0
        } catch {
            note("grpc-comparison: \(error)")
            return 1
        }
    }

    static func run(_ options: Options) async throws {
        let started = now()
        header(options)
        let perRound = max(1, options.calls / options.rounds)
        var grpc = Latencies()
        var coopPlain = Latencies()
        var coopCurve = Latencies()

        let server = GRPCServer(
            transport: .http2NIOPosix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: .plaintext),
            services: [BenchService()]
        )
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await server.serve() }
            defer { server.beginGracefulShutdown() }
            guard let port = try await server.transport.listeningAddress.ipv4?.port else {
                throw ComparisonError("the grpc-swift server did not bind an IPv4 address")
            }
            say("grpc-swift server: 127.0.0.1:\(port), HTTP/2 plaintext (h2c), GRPCNIOTransportHTTP2Posix defaults")
            try await withGRPCClient(
                transport: .http2NIOPosix(
                    target: .ipv4(address: "127.0.0.1", port: port),
                    transportSecurity: .plaintext
                )
            ) { client in
                _ = try await unary(client, calls: options.warmup)
                for round in 1...options.rounds {
                    note("round \(round) of \(options.rounds)")
                    // Alternate which goes first, so that neither always follows the other.
                    if round % 2 == 1 { try await coop(options, round, perRound, into: &coopPlain, &coopCurve) }
                    let run = try await measured { try await unary(client, calls: perRound) }
                    grpc.add(run.value, cpu: run.cpu, wall: run.wall)
                    say("round \(round): grpc-swift     \(grpc.last(perRound))")
                    if round % 2 == 0 { try await coop(options, round, perRound, into: &coopPlain, &coopCurve) }
                }
            }
        }
        report(grpc: grpc, plain: coopPlain, curve: coopCurve, options: options)
        say()
        say("load average at the end: \(loadAverage()); total time \(String(format: "%.1f s", now() - started))")
    }

    /// One CoopRPC round: a plain-text child and a CurveZMQ child, when a coop-bench was given.
    static func coop(
        _ options: Options,
        _ round: Int,
        _ calls: Int,
        into plain: inout Latencies,
        _ curve: inout Latencies
    ) async throws {
        guard let path = options.coopBench else { return }
        for secure in [false, true] {
            let child = try CoopChild.run(path, calls: calls, warmup: options.warmup, curve: secure)
            if secure {
                curve.add(child.samples, cpu: child.cpuPerCall * Double(child.samples.count), wall: child.wall)
                say("round \(round): CoopRPC curve  \(curve.last(calls))")
            } else {
                plain.add(child.samples, cpu: child.cpuPerCall * Double(child.samples.count), wall: child.wall)
                say("round \(round): CoopRPC plain  \(plain.last(calls))")
            }
        }
    }

    /// `calls` unary calls, one at a time; each one's latency in seconds.
    static func unary<Transport: ClientTransport>(_ client: GRPCClient<Transport>, calls: Int) async throws -> [Double]
    {
        var latencies: [Double] = []
        latencies.reserveCapacity(calls)
        let request = ClientRequest(message: BenchService.request)
        for _ in 0..<calls {
            let start = now()
            let count = try await client.unary(
                request: request,
                descriptor: BenchService.echo,
                serializer: RawBytesCoder(),
                deserializer: RawBytesCoder(),
                options: .defaults
            ) { response in try response.message.count }
            latencies.append(now() - start)
            guard count == BenchService.responseBytes else {
                throw ComparisonError("grpc-swift answered \(count) bytes, not \(BenchService.responseBytes)")
            }
        }
        return latencies
    }

    static func header(_ options: Options) {
        let command =
            ProcessInfo.processInfo.environment["GRPC_COMPARISON_COMMAND"]
            ?? CommandLine.arguments.joined(
                separator: " "
            )
        say("grpc-comparison: unary round trip, CoopRPC vs grpc-swift-2 (goals are reported, never asserted)")
        say("command: \(command)")
        say("date:    \(ISO8601DateFormatter().string(from: Date()))")
        say("machine: \(cpuModel()), \(ProcessInfo.processInfo.activeProcessorCount) cores")
        say("load average at the start: \(loadAverage()) (other work on this machine skews figures)")
        say(
            "call:    a \(BenchService.requestBytes)-byte request answered with a \(BenchService.responseBytes)-byte "
                + "response, one call in flight, tcp 127.0.0.1, server and client in one process"
        )
        say(
            "sizes:   \(grouped(options.calls)) timed calls of each kind in \(options.rounds) alternating rounds; "
                + "\(grouped(options.warmup)) warm-up calls"
        )
        if options.coopBench == nil {
            say("NOTE:    no --coop-bench given: grpc-swift only, no ratio")
        }
        say()
    }

    static func report(grpc: Latencies, plain: Latencies, curve: Latencies, options: Options) {
        say()
        say("== Results (all rounds pooled)")
        var rows: [[String]] = [["#", "measurement", "figure", "cpu/call", "ratio", "goal", "met"]]
        rows.append(
            ["G1", "grpc-swift unary, HTTP/2 plaintext", grpc.figure, micros(grpc.cpuPerCall), "", "reference", "-"]
        )
        if !plain.sorted.isEmpty {
            let ratio = grpc.p50 / plain.p50
            rows.append([
                "G2", "CoopRPC unary, plain text", plain.figure, micros(plain.cpuPerCall),
                "(G1) p50 is \(times(ratio)) of it", "p50 ≥ 5× lower than (G1)", ratio >= 5 ? "yes" : "NO",
            ])
        }
        if !curve.sorted.isEmpty {
            let ratio = grpc.p50 / curve.p50
            rows.append([
                "G3", "  CoopRPC unary, CurveZMQ (encrypted)", curve.figure, micros(curve.cpuPerCall),
                "(G1) p50 is \(times(ratio)) of it", "(diagnostic)", "-",
            ])
        }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows {
            for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        for (n, row) in rows.enumerated() {
            let cells = row.enumerated().map { i, cell in
                i == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }
            say(cells.joined(separator: "  "))
            if n == 0 { say(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        say()
        say(
            "cpu/call: process CPU time per timed call (client and server together), CoopRPC's from its children; "
                + "ratio: grpc-swift's p50 over CoopRPC's"
        )
    }
}

struct ComparisonError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
