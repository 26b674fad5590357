import CoopRPC
import Foundation

/// The command line of a benchmark run.
struct BenchOptions {
    /// Small sizes; finishes in well under a minute.
    var quick = false
    /// Entries in the large generated log (open time and memory, replay).
    var entries = 1_000_000
    /// Entries in the log `audit verify` is timed on; when no larger than `entries`, the large log is reused.
    var auditEntries: Int?
    /// Concurrent appenders in the group-commit measurement.
    var writers = 32
    /// Where to make the run's scratch directory (default: `./.bench-tmp`).
    var parent: String?
    /// Keep the scratch directory instead of removing it.
    var keep = false
    /// Measure 1–3 only (no generated logs).
    var skipLogs = false
    /// Measure 7 (RPC) only.
    var rpcOnly = false
    /// Leave out 7 (RPC).
    var skipRPC = false
    /// Timed unary calls of each kind in 7, over all rounds.
    var rpcCalls = 20_000
    /// Measure 8 (the node) only.
    var nodeOnly = false
    /// Leave out 8 (the node).
    var skipNode = false
    /// Measure 9 only / leave it out.
    var syncOnly = false
    var skipSync = false
    /// Entries an empty node catches up from a peer in 9b.
    var catchUpEntries = 1_000_000
    /// Measure 9c/9d (scale) only / leave them out.
    var scaleOnly = false
    var skipScale = false
    /// The most `coop node run` children 9d starts at once (it tries 3, 6, 12, 24, 48, 60 up to this).
    var scaleNodes = 60
    /// Measure 10 (wall chart and metrics) only / leave it out.
    var webOnly = false
    var skipWeb = false
    /// The release `coop` binary section 8 runs (default: `$COOP_BENCH_COOP`, else `coop` next to coop-bench).
    var coop: String?

    static let usage = """
        usage: coop-bench [--quick] [--entries N] [--audit-entries N] [--writers N] [--dir PATH] [--keep] [--skip-logs]
                          [--rpc | --skip-rpc] [--rpc-calls N] [--node | --skip-node] [--sync | --skip-sync] [--catch-up N]
                          [--scale | --skip-scale] [--scale-nodes N] [--web | --skip-web] [--coop PATH]
               coop-bench open DIR        (internal: times LogStore.open of DIR in this fresh process)
               coop-bench replay DIR      (internal: times LedgerReplay.view of DIR in this fresh process)
               coop-bench append-one DIR [--count N] [--writers N] [--no-sync]
                                  (row 2, or 2b with --no-sync, alone in a new store in DIR; with --writers N,
                                  row 3 or 3b; for profiling)
               coop-bench rpc-unary [--calls N] [--warmup N] [--curve] [--raw] [--direct] [--print-samples]
                                          (CoopRPC's unary round trip alone, or with --raw the raw
                                          DEALER/ROUTER loop, as one key=value line; for
                                          scripts/run-grpc-comparison.sh and profiling)
               coop-bench rpc-stream [--size N] [--count N] [--credit N] [--batch N] [--unpacked] [--raw] [--direct]
                                          (one server stream of 7, or with --raw a PUSH/PULL run;
                                          for profiling)

          --quick            small sizes (50,000-entry log, shorter loops); finishes in under a minute
          --entries N        entries in the generated log for replay, open time and memory (default 1,000,000)
          --audit-entries N  entries in the log `audit verify` is timed on (default: min(entries, 100,000))
          --writers N        concurrent appenders for the group-commit measurement (default 32)
          --dir PATH         make the scratch directory inside PATH (default ./.bench-tmp); it is removed at the end
          --keep             keep the scratch directory
          --skip-logs        leave out 4–6 (the generated logs)
          --rpc              measure 7 only (CoopRPC vs raw ZeroMQ: unary latency, stream throughput)
          --skip-rpc         leave out 7
          --rpc-calls N      timed unary calls of each kind in 7 (default 20,000; 3,000 with --quick)
          --node             measure 8 only (a `coop node run` child: signing, updates, latency, memory, restart)
          --skip-node        leave out 8
          --sync             measure 9 only (reconciliation: convergence after a partition, catch-up of an empty node)
          --skip-sync        leave out 9a/9b
          --catch-up N       entries an empty node catches up from a peer in 9b (default 1,000,000; --quick 20,000)
          --scale            measure 9c/9d only (scale: 15/30/60 simulated nodes; 3, 6, 12, … node processes)
          --skip-scale       leave out 9c/9d
          --scale-nodes N    the most node processes 9d starts at once (default 60; it tries 3, 6, 12, 24, 48, 60)
          --web              measure 10 only (wall chart and metrics: update p50 with metrics on vs off; the page
                             served with an --entries log)
          --skip-web         leave out 10
          --coop PATH        the release coop binary 8 and 9 run (default: $COOP_BENCH_COOP, else coop next to coop-bench)
        """

    /// Parses the arguments after the program name; throws a message for the user.
    init(arguments: [String]) throws(UsageError) {
        var explicitEntries: Int?
        var explicitRPCCalls: Int?
        var explicitCatchUp: Int?
        var rest = arguments[...]
        func value(_ flag: String) throws(UsageError) -> String {
            guard let v = rest.popFirst() else { throw UsageError("\(flag) needs a value") }
            return v
        }
        func count(_ flag: String) throws(UsageError) -> Int {
            let text = try value(flag).replacingOccurrences(of: "_", with: "").replacingOccurrences(of: ",", with: "")
            guard let n = Int(text), n > 0 else { throw UsageError("\(flag) needs a positive whole number") }
            return n
        }
        while let arg = rest.popFirst() {
            switch arg {
            case "--quick": quick = true
            case "--entries": explicitEntries = try count(arg)
            case "--audit-entries": auditEntries = try count(arg)
            case "--writers": writers = try count(arg)
            case "--dir": parent = try value(arg)
            case "--keep": keep = true
            case "--skip-logs": skipLogs = true
            case "--rpc": rpcOnly = true
            case "--skip-rpc": skipRPC = true
            case "--rpc-calls": explicitRPCCalls = try count(arg)
            case "--node": nodeOnly = true
            case "--skip-node": skipNode = true
            case "--sync": syncOnly = true
            case "--skip-sync": skipSync = true
            case "--catch-up": explicitCatchUp = try count(arg)
            case "--scale": scaleOnly = true
            case "--skip-scale": skipScale = true
            case "--scale-nodes": scaleNodes = try count(arg)
            case "--web": webOnly = true
            case "--skip-web": skipWeb = true
            case "--coop": coop = try value(arg)
            case "-h", "--help": throw UsageError("")
            default: throw UsageError("unknown argument \(arg)")
            }
        }
        entries = explicitEntries ?? (quick ? 50_000 : 1_000_000)
        rpcCalls = explicitRPCCalls ?? (quick ? 3_000 : 20_000)
        catchUpEntries = explicitCatchUp ?? (quick ? 20_000 : 1_000_000)
        if rpcOnly && skipRPC { throw UsageError("--rpc and --skip-rpc exclude each other") }
        if nodeOnly && skipNode { throw UsageError("--node and --skip-node exclude each other") }
        if webOnly && skipWeb { throw UsageError("--web and --skip-web exclude each other") }
        if scaleOnly && skipScale { throw UsageError("--scale and --skip-scale exclude each other") }
        if nodeOnly && rpcOnly { throw UsageError("--rpc and --node exclude each other (each measures one section)") }
    }

    /// Entries of the log `audit verify` runs on.
    var auditSize: Int { auditEntries ?? min(entries, 100_000) }

    // Sizes of the shorter measurements.

    /// How long the raw fsync loop runs.
    var fsyncSeconds: Double { quick ? 1 : 2 }
    /// Single-writer appends: about this many seconds' worth at the raw fsync rate, within `singleBounds`.
    var singleSeconds: Double { quick ? 1 : 2.5 }
    var singleBounds: ClosedRange<Int> { quick ? 100...300 : 300...1000 }
    /// Appends per writer in the concurrent measurements.
    var appendsPerWriter: Int { quick ? 100 : 500 }
    /// Bodies signed in the raw signing measurement.
    var signCount: Int { quick ? 5_000 : 20_000 }
    /// How long each raw verify measurement runs (about).
    var verifySeconds: Double { quick ? 0.3 : 1 }

    // Sizes of the RPC measurements (7).

    /// Rounds the unary kinds alternate in.
    var rpcRounds: Int { quick ? 2 : 4 }
    /// Untimed unary calls of each kind before the rounds.
    var rpcWarmup: Int { quick ? 300 : 1_000 }
    /// About how long each timed stream run lasts.
    var streamSeconds: Double { quick ? 0.4 : 1.0 }
    /// Alternating rounds of raw and CoopRPC streams per message size (best of them counts).
    var streamRounds: Int { quick ? 2 : 3 }
    /// Credit of the CoopRPC server streams of 7h/7j: 1,000 messages, the same allowance in flight as the raw
    /// PUSH/PULL's default high-water marks (`ZMQ_SNDHWM`/`ZMQ_RCVHWM` = 1,000 messages each), so that both sides may
    /// run as far ahead of the consumer. The client's default credit (`RPCCallOptions().credit`, 32, sized for the
    /// node's watch streams) is measured as a diagnostic (``defaultStreamCredit``).
    var streamCredit: UInt32 { 1_000 }
    /// The client's default credit, for the diagnostic rows of 7.
    var defaultStreamCredit: UInt32 { RPCCallOptions().credit }
}

/// A command-line mistake (or a request for help, with an empty message).
struct UsageError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
