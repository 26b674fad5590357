import Foundation
public import Logging

/// A swift-log handler writing one line per event to standard error: `text` (`2026-11-29T20:15:05.123Z info
/// [node=cd-wuhou method=… code=OK] call`) or `json` (one object per line, for log shippers).
///
/// **Threading.** `Sendable`; lines from many threads are written whole (one `write(2)` each).
public struct NodeLogHandler: LogHandler {
    public enum Format: String, Sendable {
        case text, json
    }

    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let format: Format

    public init(label: String, level: Logger.Level, format: Format) {
        self.label = label
        self.logLevel = level
        self.format = format
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let provided = metadataProvider?.get() { all.merge(provided) { _, new in new } }
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        let time = Self.timestamp()
        var line: String
        switch format {
        case .text:
            let fields = all.keys.sorted().map { "\($0)=\(Self.text(all[$0]!))" }.joined(separator: " ")
            line = "\(time) \(event.level)" + (fields.isEmpty ? "" : " [\(fields)]") + " \(event.message)"
        case .json:
            var object: [String: Any] = ["time": time, "level": "\(event.level)", "message": "\(event.message)"]
            for (key, value) in all where object[key] == nil { object[key] = Self.json(value) }
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
            line = String(decoding: data, as: UTF8.self)
        }
        line += "\n"
        line.withUTF8 { bytes in _ = Foundation.write(2, bytes.baseAddress, bytes.count) }
    }

    static func text(_ value: Logger.Metadata.Value) -> String {
        let raw = "\(value)"
        guard raw.isEmpty || raw.utf8.contains(UInt8(ascii: " ")) else { return raw }
        return "\"" + raw.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\\\"") + "\""
    }

    static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let s): s
        case .stringConvertible(let s): "\(s)"
        case .array(let a): a.map(json)
        case .dictionary(let d): d.mapValues(json)
        }
    }

    /// The time now, `2026-11-29T20:15:05.123Z` (UTC, milliseconds). Formatted by hand: `String(format:)` goes
    /// through Foundation's `CFString` formatting, a measurable share of a busy node's CPU at one line per write.
    static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var parts = tm()
        var seconds = spec.tv_sec
        gmtime_r(&seconds, &parts)
        var out = ""
        out.reserveCapacity(24)
        appendPadded(&out, Int(parts.tm_year) + 1900, width: 4)
        out += "-"
        appendPadded(&out, Int(parts.tm_mon) + 1, width: 2)
        out += "-"
        appendPadded(&out, Int(parts.tm_mday), width: 2)
        out += "T"
        appendPadded(&out, Int(parts.tm_hour), width: 2)
        out += ":"
        appendPadded(&out, Int(parts.tm_min), width: 2)
        out += ":"
        appendPadded(&out, Int(parts.tm_sec), width: 2)
        out += "."
        appendPadded(&out, Int(spec.tv_nsec / 1_000_000), width: 3)
        out += "Z"
        return out
    }

    /// `milliseconds` with two decimals (`12.35`), rounded half up; what `String(format: "%.2f")` gives for the
    /// non-negative durations logged, without Foundation's formatting.
    static func twoDecimals(_ milliseconds: Double) -> String {
        guard milliseconds.isFinite, milliseconds >= 0, milliseconds < 1e15 else { return "\(milliseconds)" }
        let hundredths = Int((milliseconds * 100).rounded())
        var out = String(hundredths / 100) + "."
        appendPadded(&out, hundredths % 100, width: 2)
        return out
    }

    /// Appends `value` (non-negative) in decimal, zero-padded on the left to `width` digits.
    static func appendPadded(_ out: inout String, _ value: Int, width: Int) {
        let digits = String(value)
        if digits.utf8.count < width { out += String(repeating: "0", count: width - digits.utf8.count) }
        out += digits
    }
}
