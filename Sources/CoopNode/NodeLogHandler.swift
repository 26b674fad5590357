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
        return raw.contains(" ") || raw.isEmpty ? "\"\(raw.replacingOccurrences(of: "\"", with: "\\\""))\"" : raw
    }

    static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let s): s
        case .stringConvertible(let s): "\(s)"
        case .array(let a): a.map(json)
        case .dictionary(let d): d.mapValues(json)
        }
    }

    static func timestamp() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var parts = tm()
        var seconds = spec.tv_sec
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
            parts.tm_year + 1900,
            parts.tm_mon + 1,
            parts.tm_mday,
            parts.tm_hour,
            parts.tm_min,
            parts.tm_sec,
            Int(spec.tv_nsec / 1_000_000)
        )
    }
}
