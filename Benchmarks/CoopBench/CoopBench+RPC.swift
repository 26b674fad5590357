import CoopRPC
import CoopZMQ
import Foundation

/// Latency samples of one kind of call, pooled over the rounds of a run, with the CPU they cost.
struct Latencies {
    /// Every sample, ascending, in seconds.
    private(set) var sorted: [Double] = []
    /// Process CPU time and wall time spent in the timed calls (warm-ups excluded), in seconds.
    private(set) var cpu = 0.0
    private(set) var wall = 0.0

    mutating func add(_ latencies: [Double], cpu: Double, wall: Double) {
        sorted = (sorted + latencies).sorted()
        self.cpu += cpu
        self.wall += wall
    }

    var p50: Double { quantile(sorted, 0.5) }
    var p99: Double { quantile(sorted, 0.99) }
    var mean: Double { sorted.isEmpty ? .nan : sorted.reduce(0, +) / Double(sorted.count) }
    /// Cores this process kept busy while the calls ran.
    var busyCores: Double { wall > 0 ? cpu / wall : .nan }
    /// Process CPU time per call, in seconds (both ends of the call are in this process).
    var cpuPerCall: Double { sorted.isEmpty ? .nan : cpu / Double(sorted.count) }

    /// "p50 41.2 µs, p99 88.0 µs".
    var figure: String { "p50 \(micros(p50)), p99 \(micros(p99))" }
}

/// Microseconds, e.g. "41.2 µs".
func micros(_ value: Double) -> String {
    value.isFinite ? String(format: "%.1f µs", value * 1e6) : "n/a"
}

/// Runs `body` and returns its result with the process CPU time and wall time it took, in seconds.
func measured<T>(_ body: () async throws -> T) async rethrows -> (value: T, cpu: Double, wall: Double) {
    let cpu0 = cpuTime()
    let wall0 = now()
    let value = try await body()
    return (value, cpuTime() - cpu0, now() - wall0)
}

extension CoopBench {
    // MARK: 7. RPC

    /// Section 7: CoopRPC against raw ZeroMQ carrying the same bytes, in this one run (see docs/BENCHMARKS.md).
    mutating func measureRPC() async throws {
        section(
            "7. CoopRPC vs raw ZeroMQ (tcp://127.0.0.1; server and client in this process, each with its own "
                + "context and thread)"
        )
        detail("libzmq \(ZMQ.version), CurveZMQ \(ZMQ.hasCurve ? "available" : "NOT available")")
        try await measureUnary()
        try await measureStreams()
    }

    /// 7a–7f: unary round trips, one call in flight, rounds alternating the kinds so that all see the same load.
    mutating func measureUnary() async throws {
        let rounds = options.rpcRounds
        let perRound = max(1, options.rpcCalls / rounds)
        let warmup = options.rpcWarmup
        let request = RPCBench.request
        let response = RPCBench.response
        let rpcRequestFrames = RPCFrames.encode(
            .request(RPCRequestHead(callID: 1, method: RPCBench.unaryMethod), body: request)
        )
        let rpcResponseFrames = RPCFrames.encode(RPCServerMessage(callID: 1, body: response, status: .ok))
        detail(
            "unary: a \(request.count)-byte request answered with a \(response.count)-byte response, one call in "
                + "flight; \(grouped(perRound * rounds)) timed calls of each kind in \(rounds) rounds that alternate "
                + "the kinds, after \(grouped(warmup)) warm-up calls of each"
        )
        detail(
            "raw: DEALER and ROUTER on one thread, blocking, no reactor: send, receive, answer, receive; the payload "
                + "is one frame"
        )
        detail(
            "CoopRPC frames on the wire: request \(rpcRequestFrames.map(\.count)) bytes, response "
                + "\(rpcResponseFrames.map(\.count)) bytes (tag, header, message)"
        )
        let contexts = try RawZMQBench.Contexts()
        let rawKeys = try RawZMQBench.CurveKeys.make()
        var rawPlain = Latencies()
        var rawCurve = Latencies()
        var rawFramed = Latencies()
        var rpcPlain = Latencies()
        var rpcCurve = Latencies()
        var rpcDeadline = Latencies()
        var directPlain = Latencies()
        var directCurve = Latencies()

        func raw(
            curve: RawZMQBench.CurveKeys?,
            request: [[UInt8]],
            response: [[UInt8]]
        ) async throws -> (
            [Double], Double, Double
        ) {
            let run = try await measured {
                try await onThread("bench-raw") {
                    try RawZMQBench.unary(
                        contexts,
                        curve: curve,
                        request: request,
                        response: response,
                        warmup: warmup,
                        calls: perRound
                    )
                }
            }
            // The warm-up and the connection are inside the wall and CPU time here: scale them to the timed part.
            let timed = run.value.reduce(0, +)
            return (run.value, run.cpu * timed / run.wall, timed)
        }

        try await RPCBench.withClient(curve: false) { plain in
            try await RPCBench.withClient(curve: true) { curve in
                try await RPCBench.withClient(curve: false, direct: true) { directPlainClient in
                    try await RPCBench.withClient(curve: true, direct: true) { directCurveClient in
                        _ = try await RPCBench.unary(directPlainClient, calls: warmup, direct: true)
                        _ = try await RPCBench.unary(directCurveClient, calls: warmup, direct: true)
                        _ = try await RPCBench.unary(plain, calls: warmup)
                        _ = try await RPCBench.unary(curve, calls: warmup)
                        _ = try await RPCBench.unary(plain, calls: warmup, timeout: .seconds(10))
                        for round in 1...rounds {
                            note("   unary round \(round) of \(rounds)")
                            var r = try await raw(curve: nil, request: [request], response: [response])
                            rawPlain.add(r.0, cpu: r.1, wall: r.2)
                            var m = try await measured { try await RPCBench.unary(plain, calls: perRound) }
                            rpcPlain.add(m.value, cpu: m.cpu, wall: m.wall)
                            r = try await raw(curve: rawKeys, request: [request], response: [response])
                            rawCurve.add(r.0, cpu: r.1, wall: r.2)
                            m = try await measured { try await RPCBench.unary(curve, calls: perRound) }
                            rpcCurve.add(m.value, cpu: m.cpu, wall: m.wall)
                            r = try await raw(curve: nil, request: rpcRequestFrames, response: rpcResponseFrames)
                            rawFramed.add(r.0, cpu: r.1, wall: r.2)
                            m = try await measured {
                                try await RPCBench.unary(plain, calls: perRound, timeout: .seconds(10))
                            }
                            rpcDeadline.add(m.value, cpu: m.cpu, wall: m.wall)
                            m = try await measured {
                                try await RPCBench.unary(directPlainClient, calls: perRound, direct: true)
                            }
                            directPlain.add(m.value, cpu: m.cpu, wall: m.wall)
                            m = try await measured {
                                try await RPCBench.unary(directCurveClient, calls: perRound, direct: true)
                            }
                            directCurve.add(m.value, cpu: m.cpu, wall: m.wall)
                        }
                    }
                }
            }
        }

        func line(_ name: String, _ l: Latencies) {
            detail(
                "\(name): \(l.figure), mean \(micros(l.mean)); CPU \(micros(l.cpuPerCall)) per call, "
                    + String(format: "%.2f cores busy", l.busyCores)
            )
        }
        line("raw DEALER/ROUTER, plain text       ", rawPlain)
        line("CoopRPC unary, plain text           ", rpcPlain)
        line("raw DEALER/ROUTER, CurveZMQ         ", rawCurve)
        line("CoopRPC unary, CurveZMQ             ", rpcCurve)
        line("raw, CoopRPC's 3 frames, plain text ", rawFramed)
        line("CoopRPC unary, 10 s deadline, plain ", rpcDeadline)
        line("CoopRPC unary, plain, direct        ", directPlain)
        line("CoopRPC unary, CurveZMQ, direct     ", directCurve)
        curveUnaryP50 = rpcCurve.p50
        let plainRatio = rpcPlain.p50 / rawPlain.p50
        let curveRatio = rpcCurve.p50 / rawCurve.p50
        detail(
            "p50 ratios: plain \(times(plainRatio)), CurveZMQ \(times(curveRatio)) (goal ≤ 1.3×); what CoopRPC adds "
                + "per call at p50: plain +\(micros(rpcPlain.p50 - rawPlain.p50)), CurveZMQ "
                + "+\(micros(rpcCurve.p50 - rawCurve.p50)); CPU per call: plain +\(micros(rpcPlain.cpuPerCall - rawPlain.cpuPerCall))"
        )
        summary.add(
            Row(
                number: "7a",
                what: "raw DEALER/ROUTER round trip, plain",
                figure: rawPlain.figure,
                goal: "reference",
                cpu: rawPlain.busyCores
            )
        )
        summary.add(
            Row(
                number: "7b",
                what: "CoopRPC unary, plain",
                figure: rpcPlain.figure,
                ratio: "p50 \(times(plainRatio)) of (7a)",
                goal: "p50 ≤ 1.3× of (7a)",
                met: plainRatio <= 1.3,
                cpu: rpcPlain.busyCores
            )
        )
        summary.add(
            Row(
                number: "7b′",
                what: "  the same, .direct: handler and caller on reactors",
                figure: directPlain.figure,
                ratio: "p50 \(times(directPlain.p50 / rawPlain.p50)) of (7a)",
                goal: "p50 ≤ 1.3× of (7a)",
                met: directPlain.p50 / rawPlain.p50 <= 1.3,
                cpu: directPlain.busyCores
            )
        )
        summary.add(
            Row(
                number: "7c",
                what: "raw DEALER/ROUTER round trip, CurveZMQ",
                figure: rawCurve.figure,
                goal: "reference",
                cpu: rawCurve.busyCores
            )
        )
        summary.add(
            Row(
                number: "7d",
                what: "CoopRPC unary, CurveZMQ",
                figure: rpcCurve.figure,
                ratio: "p50 \(times(curveRatio)) of (7c)",
                goal: "p50 ≤ 1.3× of (7c)",
                met: curveRatio <= 1.3,
                cpu: rpcCurve.busyCores
            )
        )
        summary.add(
            Row(
                number: "7d′",
                what: "  the same, .direct: handler and caller on reactors",
                figure: directCurve.figure,
                ratio: "p50 \(times(directCurve.p50 / rawCurve.p50)) of (7c)",
                goal: "p50 ≤ 1.3× of (7c)",
                met: directCurve.p50 / rawCurve.p50 <= 1.3,
                cpu: directCurve.busyCores
            )
        )
        summary.add(
            Row(
                number: "7e",
                what: "  raw round trip of CoopRPC's frames, plain",
                figure: rawFramed.figure,
                ratio: "p50 \(times(rawFramed.p50 / rawPlain.p50)) of (7a)",
                goal: "(diagnostic)",
                cpu: rawFramed.busyCores
            )
        )
        summary.add(
            Row(
                number: "7f",
                what: "  CoopRPC unary with a 10 s deadline, plain",
                figure: rpcDeadline.figure,
                ratio: "p50 \(times(rpcDeadline.p50 / rpcPlain.p50)) of (7b)",
                goal: "(diagnostic)",
                cpu: rpcDeadline.busyCores
            )
        )
    }

    /// 7g–7j: one-way throughput, raw PUSH/PULL against a CoopRPC server stream, per message size.
    mutating func measureStreams() async throws {
        let contexts = try RawZMQBench.Contexts()
        let seconds = options.streamSeconds
        let rounds = options.streamRounds
        let credit = options.streamCredit
        let defaultCredit = options.defaultStreamCredit
        detail(
            "server stream: one call (credit \(credit), as raw's high-water marks of 1,000 messages; the client grants "
                + "half of it back as it consumes) against PUSH → PULL on two threads; each sized to about "
                + "\(String(format: "%.1f", seconds)) s from a short calibration; best of \(rounds) alternating rounds; "
                + "diagnostics: the same stream at the client's default credit (\(defaultCredit)), and without batches "
                + "(the request's batch 1: one message per ZeroMQ message)"
        )
        let numbers = [(256, "7g", "7h"), (4096, "7i", "7j")]
        try await RPCBench.withClient(curve: false) { client in
            try await RPCBench.withClient(curve: false, direct: true) { directClient in
                for (size, rawNumber, rpcNumber) in numbers {
                    let label = size >= 1024 ? "\(size / 1024) KiB" : "\(size) B"
                    let warmup = 1000
                    // Calibration: a short run of each, to size the timed runs.
                    let rawProbe = try await onThread("bench-pull") {
                        try RawZMQBench.pushPull(contexts, size: size, warmup: warmup, count: 20_000)
                    }
                    let rpcProbe = try await RPCBench.stream(
                        client,
                        size: size,
                        warmup: warmup,
                        count: 5_000,
                        credit: credit
                    )
                    let rawCount = min(max(Int(rawProbe.rate * seconds), 10_000), 5_000_000)
                    let rpcCount = min(max(Int(rpcProbe.rate * seconds), 5_000), 5_000_000)
                    var raw: StreamRun?
                    var rpc: StreamRun?
                    var direct: StreamRun?
                    var small: StreamRun?
                    var single: StreamRun?
                    for round in 1...rounds {
                        note("   stream \(label) round \(round) of \(rounds)")
                        let r = try await onThread("bench-pull") {
                            try RawZMQBench.pushPull(contexts, size: size, warmup: warmup, count: rawCount)
                        }
                        if r.rate > raw?.rate ?? 0 { raw = r }
                        let m = try await RPCBench.stream(
                            client,
                            size: size,
                            warmup: warmup,
                            count: rpcCount,
                            credit: credit
                        )
                        if m.rate > rpc?.rate ?? 0 { rpc = m }
                        let d = try await RPCBench.stream(
                            directClient,
                            size: size,
                            warmup: warmup,
                            count: rpcCount,
                            credit: credit,
                            direct: true
                        )
                        if d.rate > direct?.rate ?? 0 { direct = d }
                        let c = try await RPCBench.stream(
                            client,
                            size: size,
                            warmup: warmup,
                            count: rpcCount,
                            credit: defaultCredit
                        )
                        if c.rate > small?.rate ?? 0 { small = c }
                        let u = try await RPCBench.stream(
                            client,
                            size: size,
                            warmup: warmup,
                            count: rpcCount,
                            credit: credit,
                            batch: 1
                        )
                        if u.rate > single?.rate ?? 0 { single = u }
                    }
                    guard let raw, let rpc, let direct, let small, let single else { continue }
                    let ratio = rpc.rate / raw.rate
                    detail(
                        "\(label): raw PUSH/PULL \(rate(raw.rate)) (\(String(format: "%.1f", raw.megabytesPerSecond)) MB/s, "
                            + "\(grouped(raw.messages)) messages); CoopRPC stream \(rate(rpc.rate)) "
                            + "(\(String(format: "%.1f", rpc.megabytesPerSecond)) MB/s, \(grouped(rpc.messages)) messages) "
                            + "= \(times(ratio)); CPU per message: raw \(micros(raw.cpu / Double(raw.messages))), "
                            + "CoopRPC \(micros(rpc.cpu / Double(rpc.messages)))"
                    )
                    detail(
                        "\(label), .direct (handler and consumer on the reactors): \(rate(direct.rate)) = "
                            + "\(times(direct.rate / raw.rate)); CPU per message \(micros(direct.cpu / Double(direct.messages)))"
                    )
                    detail(
                        "\(label), credit \(defaultCredit) (the client's default): \(rate(small.rate)) = "
                            + "\(times(small.rate / raw.rate)); CPU per message \(micros(small.cpu / Double(small.messages)))"
                    )
                    summary.add(
                        Row(
                            number: rawNumber,
                            what: "raw PUSH/PULL, \(label) messages",
                            figure: "\(rate(raw.rate)), \(String(format: "%.1f", raw.megabytesPerSecond)) MB/s",
                            goal: "reference",
                            cpu: raw.cpu / raw.elapsed
                        )
                    )
                    summary.add(
                        Row(
                            number: rpcNumber,
                            what: "CoopRPC server stream, \(label) messages",
                            figure: "\(rate(rpc.rate)), \(String(format: "%.1f", rpc.megabytesPerSecond)) MB/s",
                            ratio: "\(times(ratio)) of (\(rawNumber))",
                            goal: "≥ 0.5× of (\(rawNumber))",
                            met: ratio >= 0.5,
                            cpu: rpc.cpu / rpc.elapsed
                        )
                    )
                    summary.add(
                        Row(
                            number: rpcNumber + "′",
                            what: "  the same, .direct: handler and consumer on reactors",
                            figure: "\(rate(direct.rate)), \(String(format: "%.1f", direct.megabytesPerSecond)) MB/s",
                            ratio: "\(times(direct.rate / raw.rate)) of (\(rawNumber))",
                            goal: "≥ 0.5× of (\(rawNumber))",
                            met: direct.rate / raw.rate >= 0.5,
                            cpu: direct.cpu / direct.elapsed
                        )
                    )
                    detail(
                        "\(label), without batches (batch 1), .pool: \(rate(single.rate)) = "
                            + "\(times(single.rate / raw.rate)); CPU per message "
                            + "\(micros(single.cpu / Double(single.messages)))"
                    )
                    summary.add(
                        Row(
                            number: rpcNumber + "″",
                            what: "  the same at the default credit \(defaultCredit), .pool",
                            figure: "\(rate(small.rate)), \(String(format: "%.1f", small.megabytesPerSecond)) MB/s",
                            ratio: "\(times(small.rate / raw.rate)) of (\(rawNumber))",
                            goal: "(diagnostic)",
                            cpu: small.cpu / small.elapsed
                        )
                    )
                    summary.add(
                        Row(
                            number: rpcNumber + "‴",
                            what: "  the same without batches (batch 1), .pool",
                            figure: "\(rate(single.rate)), \(String(format: "%.1f", single.megabytesPerSecond)) MB/s",
                            ratio: "\(times(single.rate / raw.rate)) of (\(rawNumber))",
                            goal: "(diagnostic)",
                            cpu: single.cpu / single.elapsed
                        )
                    )
                }
            }
        }
    }

    // MARK: The gRPC comparison's child

    /// `coop-bench rpc-unary [--calls N] [--warmup N] [--curve] [--raw] [--direct] [--print-samples]`: CoopRPC's
    /// unary round trip alone (with `--raw`, the raw DEALER/ROUTER loop of 7a/7c instead, for profiling; with
    /// `--direct`, handler and caller on the reactors as in 7b′/7d′), printed as one
    /// `key=value` line (and, with `--print-samples`, a `samples_ns` line with every timed call's latency) for
    /// Benchmarks/GRPCComparison, which runs it through scripts/run-grpc-comparison.sh.
    static func rpcUnaryChild(_ arguments: [String]) async throws {
        var calls = 20_000
        var warmup = 2_000
        var curve = false
        var raw = false
        var direct = false
        var printSamples = false
        var rest = arguments[...]
        func number(_ flag: String) throws -> Int {
            guard let text = rest.popFirst(), let n = Int(text), n > 0 else {
                throw BenchError("rpc-unary: \(flag) needs a positive whole number")
            }
            return n
        }
        while let arg = rest.popFirst() {
            switch arg {
            case "--calls": calls = try number(arg)
            case "--warmup": warmup = try number(arg)
            case "--curve": curve = true
            case "--raw": raw = true
            case "--direct": direct = true
            case "--print-samples": printSamples = true
            default: throw BenchError("rpc-unary: unknown argument \(arg)")
            }
        }
        let (samples, cpu, wall): ([Double], Double, Double)
        if raw {
            let (warmup, calls) = (warmup, calls)
            let contexts = try RawZMQBench.Contexts()
            let keys = curve ? try RawZMQBench.CurveKeys.make() : nil
            let run = try await measured {
                try await onThread("bench-raw") {
                    try RawZMQBench.unary(
                        contexts,
                        curve: keys,
                        request: [RPCBench.request],
                        response: [RPCBench.response],
                        warmup: warmup,
                        calls: calls
                    )
                }
            }
            // Scale the CPU time to the timed calls (the warm-up and the connection are inside `run`).
            let timed = run.value.reduce(0, +)
            (samples, cpu, wall) = (run.value, run.cpu * timed / run.wall, timed)
        } else {
            (samples, cpu, wall) = try await RPCBench.withClient(curve: curve, direct: direct) { client in
                _ = try await RPCBench.unary(client, calls: warmup, direct: direct)
                return try await measured { try await RPCBench.unary(client, calls: calls, direct: direct) }
            }
        }
        var l = Latencies()
        l.add(samples, cpu: cpu, wall: wall)
        say(
            "rpc-unary transport=\(raw ? "raw-zmq" : direct ? "coop-rpc-direct" : "coop-rpc")-\(curve ? "curve" : "plain") calls=\(calls) request_bytes="
                + "\(RPCBench.requestBytes) response_bytes=\(RPCBench.responseBytes) "
                + String(
                    format: "p50_us=%.2f p99_us=%.2f mean_us=%.2f cpu_us_per_call=%.2f busy_cores=%.2f wall_s=%.4f",
                    l.p50 * 1e6,
                    l.p99 * 1e6,
                    l.mean * 1e6,
                    l.cpuPerCall * 1e6,
                    l.busyCores,
                    wall
                )
        )
        if printSamples {
            say("samples_ns " + samples.map { String(Int(($0 * 1e9).rounded())) }.joined(separator: " "))
        }
    }

    /// `coop-bench rpc-stream [--size N] [--count N] [--credit N] [--batch N] [--unpacked] [--raw] [--direct]`: one
    /// server stream of 7h/7j alone (with `--raw`, the PUSH/PULL run of 7g/7i instead; `--batch 1` asks for no batches,
    /// `--unpacked` for batches of one frame per message), as one `key=value` line; for profiling.
    static func rpcStreamChild(_ arguments: [String]) async throws {
        var size = 256
        var count = 100_000
        var credit: UInt32 = 32
        var batch = RPCClient.streamBatch
        var raw = false
        var direct = false
        var packed = true
        var rest = arguments[...]
        func number(_ flag: String) throws -> Int {
            guard let text = rest.popFirst(), let n = Int(text), n > 0 else {
                throw BenchError("rpc-stream: \(flag) needs a positive whole number")
            }
            return n
        }
        while let arg = rest.popFirst() {
            switch arg {
            case "--size": size = try number(arg)
            case "--count": count = try number(arg)
            case "--credit": credit = UInt32(clamping: try number(arg))
            case "--batch": batch = UInt32(clamping: try number(arg))
            case "--raw": raw = true
            case "--direct": direct = true
            case "--unpacked": packed = false
            default: throw BenchError("rpc-stream: unknown argument \(arg)")
            }
        }
        let run: StreamRun
        if raw {
            let (size, count) = (size, count)
            let contexts = try RawZMQBench.Contexts()
            run = try await onThread("bench-pull") {
                try RawZMQBench.pushPull(contexts, size: size, warmup: 1000, count: count)
            }
        } else {
            run = try await RPCBench.withClient(curve: false, direct: direct) { client in
                try await RPCBench.stream(
                    client,
                    size: size,
                    warmup: 1000,
                    count: count,
                    credit: credit,
                    batch: batch,
                    packed: packed,
                    direct: direct
                )
            }
        }
        say(
            "rpc-stream transport=\(raw ? "raw-push-pull" : direct ? "coop-rpc-direct-plain" : "coop-rpc-plain") size=\(size) count=\(count) "
                + (raw ? "" : "credit=\(credit) batch=\(batch) packed=\(packed) ")
                + String(
                    format: "rate=%.0f mb_s=%.2f cpu_us_per_message=%.2f wall_s=%.4f",
                    run.rate,
                    run.megabytesPerSecond,
                    run.cpu / Double(run.messages) * 1e6,
                    run.elapsed
                )
        )
    }
}
