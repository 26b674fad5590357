import CoopTestKit
import CoopWire
import Testing

/// The chain-head line of `coop audit verify`, whose format docs/LOG-FORMAT.md fixes so that an auditor can compare
/// it with another copy or a published value.
@Suite("Audit chain-head line")
struct ChainHeadLineTests {
    @Test("verify prints `local chain head <hex> after <N> records`, the chain value after record N − 1")
    func chainHeadLine() throws {
        let dir = try CoopTestKit.TemporaryDirectory("coop-chain-head")
        let node = try AuditCLITests.generate(dir, entries: 120, seed: 5)
        let result = try AuditCLITests.coop(["audit", "verify", node])
        #expect(result.status == 0, "\(result.stderr)")
        let records = try LogTamper(directory: node).records
        let last = try #require(records.last?.logRecord?.chain)
        let hex = last.map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined()
        let line = "  local chain head \(hex) after \(records.count) records"
        #expect(result.stdoutText.split(separator: "\n").contains { $0 == line }, "\(result.stdoutText)")
    }
}
