import Foundation

/// One `coop-bench rpc-unary` child: CoopRPC's unary round trip in a fresh process (server and client in it, as the
/// grpc-swift side has both in this one), read back from its standard output.
struct CoopChild {
    /// Each timed call's latency, in seconds.
    var samples: [Double]
    /// The child's process CPU time per timed call, in seconds.
    var cpuPerCall: Double
    /// Wall time of the timed calls, in seconds.
    var wall: Double

    static func run(_ path: String, calls: Int, warmup: Int, curve: Bool) throws -> CoopChild {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments =
            ["rpc-unary", "--calls", "\(calls)", "--warmup", "\(warmup)", "--print-samples"]
            + (curve ? ["--curve"] : [])
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ComparisonError("\(path) rpc-unary exited with status \(process.terminationStatus)")
        }
        var fields: [String: String] = [:]
        var samples: [Double] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.first == "rpc-unary" {
                for word in words.dropFirst() {
                    let pair = word.split(separator: "=", maxSplits: 1)
                    if pair.count == 2 { fields[String(pair[0])] = String(pair[1]) }
                }
            } else if words.first == "samples_ns" {
                samples = words.dropFirst().compactMap { Double($0).map { $0 / 1e9 } }
            }
        }
        guard let cpu = fields["cpu_us_per_call"].flatMap(Double.init),
            let wall = fields["wall_s"].flatMap(Double.init),
            samples.count == calls
        else {
            throw ComparisonError("\(path) rpc-unary printed no result line with \(calls) samples")
        }
        return CoopChild(samples: samples, cpuPerCall: cpu / 1e6, wall: wall)
    }
}
