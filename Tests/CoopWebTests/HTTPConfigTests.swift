import CoopNode
import Foundation
import Testing

/// `[http]` in the node configuration: off by default, loopback unless configured, clear errors.
@Suite("HTTP configuration")
struct HTTPConfigTests {
    static let base = """
        node_id = "cd-wuhou"
        listen = "tcp://127.0.0.1:40101"
        data_dir = "data"
        roster = "roster.json"
        catalog = "catalog.json"
        key_dir = "keys"

        """

    @Test func offByDefault() throws {
        let config = try NodeConfig.parse(Self.base, path: "/etc/coop/node.toml")
        #expect(config.http == nil)
    }

    @Test func listenAndStaleDays() throws {
        let config = try NodeConfig.parse(
            Self.base + "[http]\nlisten = \"127.0.0.1:8080\"\nstale_days = 7\n",
            path: "/etc/coop/node.toml"
        )
        #expect(config.http == NodeConfig.HTTP(host: "127.0.0.1", port: 8080, staleDays: 7, metrics: true))
        let v6 = try NodeConfig.parse(Self.base + "[http]\nlisten = \"[::1]:0\"\nmetrics = false\n", path: "n.toml")
        #expect(v6.http == NodeConfig.HTTP(host: "::1", port: 0, staleDays: 14, metrics: false))
        let loopback = try NodeConfig.parse(Self.base + "[http]\n", path: "n.toml")
        #expect(loopback.http?.host == "127.0.0.1")
        #expect(loopback.http?.keepaliveSeconds == 15)
        let keepalive = try NodeConfig.parse(Self.base + "[http]\nkeepalive_s = 5\n", path: "n.toml")
        #expect(keepalive.http?.keepaliveSeconds == 5)
    }

    @Test(arguments: [
        ("[http]\nlisten = \"8080\"\n", "n.toml:8: http.listen is \"8080\"; expected HOST:PORT"),
        ("[http]\nlisten = \"127.0.0.1:70000\"\n", "expected HOST:PORT"),
        ("[http]\nstale_days = 0\n", "http.stale_days is 0; expected 1…3650"),
        ("[http]\nkeepalive_s = 0\n", "http.keepalive_s is 0; expected 1…3600"),
        ("[http]\nkeepalive_s = \"15s\"\n", "http.keepalive_s"),
        ("[http]\nport = 8080\n", "http.port is not a known setting of [http]"),
    ])
    func badValuesAreNamed(_ section: String, _ message: String) {
        #expect {
            _ = try NodeConfig.parse(Self.base + section, path: "n.toml")
        } throws: { error in
            "\((error as? NodeError)?.message ?? "\(error)")".contains(message)
        }
    }

    @Test(.timeLimit(.minutes(2)))
    func aBusyPortStopsTheNodeNamingTheListener() async throws {
        try await WebHarness.run { first in
            let port = try #require(Int(first.web.split(separator: ":").last ?? ""))
            await #expect {
                _ = try await WebHarness.start(port: port)
            } throws: { error in
                guard let error = error as? NodeError else { return false }
                return error.code == .endpoint && error.message.contains("[http] listen")
                    && error.message.contains("127.0.0.1:\(port)")
            }
            // The first node still serves.
            #expect(try await first.get("/healthz").status == 200)
        }
    }
}
