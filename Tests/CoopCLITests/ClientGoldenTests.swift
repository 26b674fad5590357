import CoopTestKit
import Foundation
import Testing

/// The client commands' help texts, compared with files in Tests/CoopCLITests/Golden (as ``GoldenTests`` does; run
/// with COOP_UPDATE_GOLDEN=1 to rewrite them after an intended change, then review the diff).
@Suite("Client commands: golden help")
struct ClientGoldenTests {
    @Test(
        "help texts of coop item and coop call",
        arguments: [
            (["item", "--help"], "item-help.txt"),
            (["item", "update", "--help"], "item-update-help.txt"),
            (["item", "watch", "--help"], "item-watch-help.txt"),
            (["call", "--help"], "call-help.txt"),
        ]
    )
    func help(arguments: [String], golden: String) async throws {
        let result = try await CLIProcess.run(arguments)
        #expect(result.status == 0, "\(result)")
        let path = "\(GoldenTests.goldenDirectory)/\(golden)"
        if ProcessInfo.processInfo.environment["COOP_UPDATE_GOLDEN"] == "1" {
            try await TestNode.write(result.stdout, to: path)
            return
        }
        let expected = try String(contentsOfFile: path, encoding: .utf8)
        #expect(result.stdout == expected, "\(golden) differs; rerun with COOP_UPDATE_GOLDEN=1 and review the diff")
    }
}
