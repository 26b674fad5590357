import CoopWire
import Foundation

/// Reads the JSON reference files (catalog, roster) into messages. Thread-safe: pure functions.
enum ReferenceFile {
    /// The message encoded in a JSON file, plus the parsed JSON (for line numbers in later errors).
    static func load<M: WireMessage>(_ type: M.Type, path: String, code: LedgerError.Code) throws -> (M, JSONValue) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw LedgerError(code: .io, message: "\(path): cannot read: \(error.localizedDescription)", cause: error)
        }
        return try parse(type, bytes: [UInt8](data), path: path, code: code)
    }

    static func parse<M: WireMessage>(
        _ type: M.Type,
        bytes: [UInt8],
        path: String,
        code: LedgerError.Code
    ) throws -> (M, JSONValue) {
        do {
            let json = try JSONParser.parse(bytes)
            return (try ProtoJSON.decode(M.self, from: json), json)
        } catch let error as WireError {
            throw LedgerError(code: code, message: "\(path): \(error.message)", cause: error)
        }
    }

    /// 1-based line of the `key` member of element `index` of the top-level array `array`, when known.
    static func line(in json: JSONValue, array: String, index: Int, key: String) -> Int? {
        guard case .array(let elements)? = json[array], index < elements.count,
            case .object(let members) = elements[index]
        else { return nil }
        return members.first { $0.key == key }?.line ?? members.first?.line
    }
}

/// Checks of a calendar date "YYYY-MM-DD".
enum CalendarDate {
    /// Whether `text` is a valid date between `earliest` and `latest` years inclusive.
    static func isValid(_ text: String, years: ClosedRange<Int>) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
            years.contains(y), (1...12).contains(m)
        else { return false }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
        return (1...days).contains(d)
    }
}
