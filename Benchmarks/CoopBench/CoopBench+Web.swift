import CoopNode
import CoopServices
import CoopWeb
import Foundation
import Glibc

extension CoopBench {
    // MARK: 10. The wall chart and metrics (issue 10 §3)

    /// Section 10: 10a the node's update latency with metrics on (an `[http]` listener with `/metrics`, scraped as
    /// Prometheus would) against metrics off (no `[http]`), two `coop node run` children taking one update each in
    /// turn; 10c what recording one call's metrics costs; 10b the wall chart page, `/metrics` and an item page
    /// served by a node whose log holds `--entries` entries.
    mutating func measureWeb() async throws {
        let coop = try NodeBench.coopPath(options)
        section("10. The wall chart and metrics: `coop node run` (\(coop)) children with and without [http]")
        try await measureMetricsOverhead(coop: coop)
        measureMetricsRecording()
        try await measurePage(coop: coop)
    }

    /// A node configuration as section 8 writes it, with `[http]` on 127.0.0.1:0 when `web` is set.
    func webConfig(
        directory: String,
        data dataDirectory: String,
        web: Bool,
        checkpointIdleMs: Int = 1000
    ) throws
        -> String
    {
        let path = try NodeBench.writeConfig(
            data,
            directory: directory,
            data: dataDirectory,
            checkpointIdleMs: checkpointIdleMs
        )
        if web {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
            try handle.write(
                contentsOf: Data("[http]\nlisten = \"127.0.0.1:0\"\nstale_days = 14\nmetrics = true\n".utf8)
            )
            try handle.close()
        }
        return path
    }

    /// `http://127.0.0.1:PORT` from a readiness line (`…; web http://127.0.0.1:PORT`).
    static func webAddress(_ readyLine: String) throws -> String {
        guard let range = readyLine.range(of: "web http://") else {
            throw BenchError("no web address in the readiness line: \(readyLine)")
        }
        return "http://" + readyLine[range.upperBound...].prefix { $0 != ";" && $0 != " " }
    }

    /// 10a: p50 of one update at a time, metrics on and off, in pairs.
    mutating func measureMetricsOverhead(coop: String) async throws {
        let items = data.items(of: NodeBench.nodeID)
        let offConfig = try webConfig(directory: scratch + "/web-off", data: scratch + "/web-off/data", web: false)
        let onConfig = try webConfig(directory: scratch + "/web-on", data: scratch + "/web-on/data", web: true)
        let off = try NodeChild(coop: coop, config: offConfig, name: "node-off")
        let on: NodeChild
        do {
            on = try NodeChild(coop: coop, config: onConfig, name: "node-on")
        } catch {
            await off.stop()
            throw error
        }
        do {
            try await off.ready(timeout: 120)
            try await on.ready(timeout: 120)
            let web = try Self.webAddress(on.readyLine)
            let offClients = try NodeBench.Clients(data, endpoint: off.endpoint)
            let onClients = try NodeBench.Clients(data, endpoint: on.endpoint)
            do {
                try await compareMetrics(off: offClients, on: onClients, web: web, items: items)
            } catch {
                await offClients.close()
                await onClients.close()
                throw error
            }
            await offClients.close()
            await onClients.close()
        } catch {
            await off.stop()
            await on.stop()
            throw error
        }
        await off.stop()
        await on.stop()
    }

    /// 10a's pairs of updates on the two nodes' clients.
    mutating func compareMetrics(
        off offClients: NodeBench.Clients,
        on onClients: NodeBench.Clients,
        web: String,
        items: [String]
    ) async throws {
        do {
            let offLedger = try await offClients.ledger(item: items[0])
            let onLedger = try await onClients.ledger(item: items[0])
            _ = try await NodeBench.sequential(offLedger, items: items, count: 50)
            _ = try await NodeBench.sequential(onLedger, items: items, count: 50)
            // Paired: one update on each node in turn (which goes first alternates), so that both see the same
            // moment of the disk and of the machine's other work; a scrape of /metrics every 200 pairs.
            let pairs = options.quick ? 600 : 2000
            var offLatencies: [Double] = []
            var onLatencies: [Double] = []
            var scrapes: [Double] = []
            var scrapeBytes = 0
            for pair in 0..<pairs {
                let item = [items[pair % items.count]]
                if pair % 2 == 0 {
                    offLatencies += try await NodeBench.sequential(offLedger, items: item, count: 1)
                    onLatencies += try await NodeBench.sequential(onLedger, items: item, count: 1)
                } else {
                    onLatencies += try await NodeBench.sequential(onLedger, items: item, count: 1)
                    offLatencies += try await NodeBench.sequential(offLedger, items: item, count: 1)
                }
                if pair % 200 == 199 {
                    let (answer, elapsed) = try timed { try WebGet.get(web, "/metrics") }
                    guard answer.status == 200 else { throw BenchError("/metrics answered \(answer.status)") }
                    scrapes.append(elapsed)
                    scrapeBytes = answer.bodyBytes
                }
            }
            offLatencies.sort()
            onLatencies.sort()
            scrapes.sort()
            let metrics = try WebGet.get(web, "/metrics").body
            let counted = metrics.split(separator: "\n").first {
                $0.hasPrefix("coop_rpc_calls_total{method=\"/coop.v1.Ledger/UpdateStatus\",code=\"OK\"}")
            }
            let ratio = quantile(onLatencies, 0.5) / quantile(offLatencies, 0.5)
            detail(
                "10a one client, one UpdateStatus at a time, \(grouped(pairs)) pairs (one update on each node in turn): "
                    + "metrics off (no [http]) p50 \(millis(quantile(offLatencies, 0.5))), p99 "
                    + "\(millis(quantile(offLatencies, 0.99))); metrics on ([http], /metrics scraped every 200 pairs) p50 "
                    + "\(millis(quantile(onLatencies, 0.5))), p99 \(millis(quantile(onLatencies, 0.99)))"
            )
            detail(
                "    /metrics: \(scrapeBytes) bytes, p50 \(millis(quantile(scrapes, 0.5))) per scrape; it counted "
                    + (counted.map(String.init) ?? "no UpdateStatus calls (!)")
            )
            summary.add(
                Row(
                    number: "10a",
                    what: "update p50, metrics on vs off",
                    figure: "on \(millis(quantile(onLatencies, 0.5))), off \(millis(quantile(offLatencies, 0.5)))",
                    ratio: times(ratio),
                    goal: "≤ 1.05×",
                    met: ratio <= 1.05
                )
            )
        }
    }

    /// 10c: what recording one call costs the node when metrics are on (`NodeMetrics.call`: a cached counter and
    /// a latency histogram in a Prometheus registry), on one core.
    mutating func measureMetricsRecording() {
        let metrics = NodeMetrics(factory: NodeScrape().makeFactory())
        let methods = ["/coop.v1.Ledger/UpdateStatus", "/coop.v1.Ledger/GetItem", "/coop.v1.Sync/Pull"]
        let count = options.quick ? 300_000 : 2_000_000
        for i in 0..<10_000 { metrics.call(method: methods[i % 3], code: "OK", nanoseconds: Int64(i % 5000) * 1000) }
        let cpu0 = cpuTime()
        let (_, elapsed) = timed {
            for i in 0..<count {
                metrics.call(method: methods[i % 3], code: "OK", nanoseconds: Int64(i % 5000) * 1000)
            }
        }
        let cpu = (cpuTime() - cpu0) / elapsed
        let each = elapsed / Double(count)
        detail(
            "10c recording one call's metrics (NodeMetrics.call: counter + latency histogram, Prometheus registry), "
                + "\(grouped(count)) calls on one thread: " + String(format: "%.0f ns", each * 1e9) + " each"
        )
        summary.add(
            Row(
                number: "10c",
                what: "metrics recorded per call",
                figure: String(format: "%.0f ns", each * 1e9),
                goal: "reference",
                cpu: cpu,
                contended: starved(cpu)
            )
        )
    }

    /// 10b: the page, `/metrics`, the report and an item page on a node whose log holds `options.entries` entries.
    mutating func measurePage(coop: String) async throws {
        let entries = options.entries
        let directory = scratch + "/web-big"
        let dataDirectory: String
        if let existing = generatedLog, FileManager.default.fileExists(atPath: existing + "/log") {
            dataDirectory = existing
        } else {
            dataDirectory = directory + "/data"
            note("   10b: generating a \(grouped(entries))-entry log")
            let generated = try await LogBench.generate(data, into: dataDirectory, entries: entries)
            detail("10b generated a \(grouped(entries))-entry log (DemoLogGenerator) in \(seconds(generated.elapsed))")
        }
        let config = try webConfig(directory: directory, data: dataDirectory, web: true)
        let node = try NodeChild(coop: coop, config: config, name: "node-web")
        do {
            let ready = try await node.ready(timeout: 900)
            let web = try Self.webAddress(node.readyLine)
            detail("10b node ready \(seconds(ready)) after spawn: \(node.readyLine)")
            for _ in 0..<5 { _ = try WebGet.get(web, "/") }
            let count = options.quick ? 50 : 200
            var page: [Double] = []
            var bytes = 0
            for _ in 0..<count {
                let (answer, elapsed) = try timed { try WebGet.get(web, "/") }
                guard answer.status == 200 else { throw BenchError("/ answered \(answer.status)") }
                page.append(elapsed)
                bytes = answer.bodyBytes
            }
            page.sort()
            var filtered: [Double] = []
            for _ in 0..<count {
                filtered.append(try timed { try WebGet.get(web, "/?flag=overdue&group=section") }.1)
            }
            filtered.sort()
            var scrape: [Double] = []
            for _ in 0..<(count / 4) { scrape.append(try timed { try WebGet.get(web, "/metrics") }.1) }
            scrape.sort()
            let (item, itemElapsed) = try timed { try WebGet.get(web, "/items/CY-07") }
            detail(
                "10b GET / (\(bytes) bytes), \(count) requests one at a time over loopback (request sent → last byte, "
                    + "an upper bound of server time): p50 \(millis(quantile(page, 0.5))), p99 "
                    + "\(millis(quantile(page, 0.99))); filtered and grouped p50 \(millis(quantile(filtered, 0.5))); "
                    + "/metrics p50 \(millis(quantile(scrape, 0.5)))"
            )
            detail(
                "    GET /items/CY-07 (\(item.bodyBytes) bytes; its history is a replay of the whole log, as "
                    + "`coop audit history` does): \(seconds(itemElapsed))"
            )
            let p50 = quantile(page, 0.5)
            summary.add(
                Row(
                    number: "10b",
                    what: "wall chart page, \(grouped(entries))-entry log",
                    figure: "p50 \(millis(p50)), p99 \(millis(quantile(page, 0.99)))",
                    ratio: "item page \(seconds(itemElapsed))",
                    goal: "≤ 300 ms",
                    met: p50 <= 0.3
                )
            )
        } catch {
            await node.stop()
            throw error
        }
        await node.stop()
    }
}

/// A blocking HTTP/1.1 GET over loopback for the benchmark (`Connection: close`, read to the end).
enum WebGet {
    struct Answer {
        var status: Int
        var bodyBytes: Int
        var body: String
    }

    static func get(_ base: String, _ path: String) throws -> Answer {
        guard let colon = base.lastIndex(of: ":"), let port = UInt16(base[base.index(after: colon)...]) else {
            throw BenchError("no port in \(base)")
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BenchError("socket: errno \(errno)") }
        defer { close(fd) }
        var tv = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { throw BenchError("connect \(base): errno \(errno)") }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == request.count else {
            throw BenchError("send: errno \(errno)")
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { break }
            guard n > 0 else {
                if errno == EINTR { continue }
                throw BenchError("recv \(base)\(path): errno \(errno)")
            }
            received += buffer[0..<n]
        }
        let text = String(decoding: received, as: UTF8.self)
        guard let split = text.range(of: "\r\n\r\n") else { throw BenchError("no HTTP answer from \(base)\(path)") }
        let statusLine = text[..<split.lowerBound].split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw BenchError("bad status line") }
        let body = String(text[split.upperBound...])
        return Answer(status: status, bodyBytes: body.utf8.count, body: body)
    }
}
