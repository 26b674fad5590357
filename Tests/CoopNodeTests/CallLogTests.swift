import CoopRPC
import Logging
import Synchronization
import Testing

@testable import CoopNode

/// The node's call log names why a call ended: a call the server stopped (deadline, cancel) is not an error of the
/// server's.
@Suite("Call log")
struct CallLogTests {
    /// Keeps each line's level and metadata.
    struct Capture: LogHandler {
        let lines: Lines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        final class Lines: Sendable {
            let all = Mutex<[(Logger.Level, Logger.Metadata)]>([])
        }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            lines.all.withLock { $0.append((event.level, metadata.merging(event.metadata ?? [:]) { $1 })) }
        }
    }

    static func call(timeoutMicroseconds: UInt64?, throwing error: any Error) async -> (Logger.Level, String)? {
        let lines = Capture.Lines()
        let log = CallLog(logger: Logger(label: "test") { _ in Capture(lines: lines) })
        let methods = log.wrap(["/coop.v1.Ledger/ItemHistory": .unary { _ in throw error }])
        guard case .unary(let handler) = methods["/coop.v1.Ledger/ItemHistory"] else { return nil }
        let request = RPCRequest(
            head: RPCRequestHead(
                callID: 1,
                method: "/coop.v1.Ledger/ItemHistory",
                timeoutMicroseconds: timeoutMicroseconds
            ),
            body: [],
            peer: []
        )
        _ = try? await handler(request)
        guard let (level, metadata) = lines.all.withLock({ $0.first }), case .string(let code) = metadata["code"] else {
            return nil
        }
        return (level, code)
    }

    @Test(
        "a unary call stopped at its deadline is logged DEADLINE_EXCEEDED, a cancelled one CANCELLED, neither a warning"
    )
    func stopped() async throws {
        let expired = try #require(await Self.call(timeoutMicroseconds: 0, throwing: CancellationError()))
        #expect(expired.1 == "\(RPCStatus.Code.deadlineExceeded)" && expired.0 < .warning, "\(expired)")
        let cancelled = try #require(await Self.call(timeoutMicroseconds: nil, throwing: CancellationError()))
        #expect(cancelled.1 == "\(RPCStatus.Code.cancelled)" && cancelled.0 < .warning, "\(cancelled)")
        struct Broken: Error {}
        let failed = try #require(await Self.call(timeoutMicroseconds: nil, throwing: Broken()))
        #expect(failed.1 == "\(RPCStatus.Code.internal)" && failed.0 == .warning, "\(failed)")
    }
}
