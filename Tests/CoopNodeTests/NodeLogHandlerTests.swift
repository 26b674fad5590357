import Foundation
import Logging
import Testing

@testable import CoopNode

/// The node's log lines are formatted by hand (not with `String(format:)`, which went through Foundation's
/// `CFString` formatting on every call); these check the hand-made formats.
@Suite("Node log lines: timestamps, durations, quoted values")
struct NodeLogHandlerTests {
    @Test("the timestamp is ISO 8601 in UTC with milliseconds, and now")
    func timestamp() throws {
        let before = Date()
        let text = NodeLogHandler.timestamp()
        let after = Date()
        #expect(text.utf8.count == 24)
        #expect(text.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil, "\(text)")
        var parser = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        parser.timeZone = TimeZone(identifier: "UTC")!
        let parsed = try parser.parse(text)
        #expect(parsed >= before.addingTimeInterval(-0.001) && parsed <= after, "\(text)")
    }

    @Test(
        "durations in milliseconds with two decimals",
        arguments: [
            (0.0, "0.00"), (0.004, "0.00"), (0.006, "0.01"), (0.05, "0.05"), (1.5, "1.50"), (12.3456, "12.35"),
            (1234.5, "1234.50"), (99.999, "100.00"),
        ]
    )
    func twoDecimals(value: Double, expected: String) {
        #expect(NodeLogHandler.twoDecimals(value) == expected)
        #expect(String(format: "%.2f", value) == expected)  // what the hand-made format replaces
    }

    @Test("metadata values with a space, or empty, are quoted, and their quotes escaped")
    func quoted() {
        #expect(NodeLogHandler.text(.string("plain")) == "plain")
        #expect(NodeLogHandler.text(.string("")) == "\"\"")
        #expect(NodeLogHandler.text(.string("two words")) == "\"two words\"")
        #expect(NodeLogHandler.text(.string("say \"hi\" now")) == "\"say \\\"hi\\\" now\"")
        #expect(NodeLogHandler.text(.string("a\"b")) == "a\"b")
    }
}
