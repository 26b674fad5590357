import CoopRPC
import Foundation
import Logging

/// One log line per call: method, call id, caller, status code and reason, duration. Writes and failures at
/// `info` (errors the server made at `warning`), successful reads at `debug`, so that an operator sees every change
/// to the ledger and every refusal without the noise of reads.
///
/// Thread-safe: wraps handlers with a `Sendable` logger.
struct CallLog {
    let logger: Logger
    /// Calls counted and timed by method and code, when the node records metrics.
    var metrics: NodeMetrics? = nil

    func wrap(_ methods: [String: RPCMethod]) -> [String: RPCMethod] {
        methods.mapValues { method in
            switch method {
            case .unary(let handler):
                return .unary { request in
                    let started = ContinuousClock.now
                    do {
                        let response = try await handler(request)
                        log(request, started, code: .ok, reason: "")
                        return response
                    } catch let error as RPCError {
                        log(request, started, code: error.code, reason: error.reason, message: error.message)
                        throw error
                    } catch is CancellationError {
                        // Stopped by the server (its deadline passed, its client cancelled or went away): not an
                        // error of the server's.
                        log(request, started, code: Self.stopCode(request, started), reason: "")
                        throw CancellationError()
                    } catch {
                        log(request, started, code: .internal, reason: "", message: "\(error)")
                        throw error
                    }
                }
            case .serverStream(let handler):
                return .serverStream { request, writer in
                    let started = ContinuousClock.now
                    do {
                        let trailers = try await handler(request, writer)
                        log(request, started, code: .ok, reason: "")
                        return trailers
                    } catch let error as RPCError {
                        log(request, started, code: error.code, reason: error.reason, message: error.message)
                        throw error
                    } catch is CancellationError {
                        log(request, started, code: Self.stopCode(request, started), reason: "")
                        throw CancellationError()
                    } catch {
                        log(request, started, code: .internal, reason: "", message: "\(error)")
                        throw error
                    }
                }
            }
        }
    }

    /// Why a call that ended in `CancellationError` stopped: DEADLINE_EXCEEDED when its deadline budget is spent,
    /// CANCELLED otherwise.
    static func stopCode(_ request: RPCRequest, _ started: ContinuousClock.Instant) -> RPCStatus.Code {
        guard let budget = request.head.timeoutMicroseconds else { return .cancelled }
        return ContinuousClock.now - started >= .microseconds(Int64(clamping: budget)) ? .deadlineExceeded : .cancelled
    }

    private func log(
        _ request: RPCRequest,
        _ started: ContinuousClock.Instant,
        code: RPCStatus.Code,
        reason: String,
        message: String = ""
    ) {
        let elapsed = ContinuousClock.now - started
        if let metrics {
            let nanoseconds =
                elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
            metrics.call(method: request.head.method, code: "\(code)", nanoseconds: nanoseconds)
        }
        var metadata: Logger.Metadata = [
            "method": .string(request.head.method),
            "call": .stringConvertible(request.head.callID),
            "caller": .string(request.caller ?? "-"),
            "code": .string("\(code)"),
            "ms": .string(NodeLogHandler.twoDecimals(LedgerNode.seconds(elapsed) * 1000)),
        ]
        if !reason.isEmpty { metadata["reason"] = .string(reason) }
        if !message.isEmpty { metadata["message"] = .string(message) }
        let level: Logger.Level
        if code == .ok {
            level = NodeAccess.writes.contains(request.head.method) ? .info : .debug
        } else if code == .internal || code == .unknown || code == .dataLoss {
            level = .warning
        } else {
            level = .info
        }
        logger.log(level: level, "call", metadata: metadata)
    }
}
