import ArgumentParser
import CoopLedger
import CoopWire
import Foundation

/// Checks of the client commands' values, run in `validate()` before anything connects. Each error names the option
/// or argument; ArgumentParser prints it with the usage and exits 64.
extension ArgumentCheck {
    /// The statuses an update may set or a listing may filter by, without the `ITEM_STATUS_` prefix.
    static let statusNames = ItemStatus.allCases.filter { $0 != .unspecified }.map(ItemTable.short)

    /// The status named `text` (`in-progress`, `IN_PROGRESS` or `ITEM_STATUS_IN_PROGRESS`, any case).
    static func status(_ text: String, _ name: String) throws -> ItemStatus {
        var key = text.uppercased().replacingOccurrences(of: "-", with: "_")
        if key.hasPrefix("ITEM_STATUS_") { key.removeFirst("ITEM_STATUS_".count) }
        guard let status = ItemStatus.allCases.first(where: { $0 != .unspecified && ItemTable.short($0) == key }) else {
            throw ValidationError(
                "\(name) \(CLIOutput.quoted(text)) is not a status; give one of: "
                    + statusNames.map { $0.lowercased().replacingOccurrences(of: "_", with: "-") }.joined(
                        separator: ", "
                    )
            )
        }
        return status
    }

    /// `value` of `name` is a catalog item id: not empty, at most 32 characters, no white space or control characters
    /// (the catalog's rule).
    static func itemID(_ value: String, _ name: String) throws {
        guard !value.isEmpty else { throw ValidationError("\(name) is empty; give an item id such as CY-07") }
        guard value.count <= 32,
            !value.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.value < 0x20 })
        else {
            throw ValidationError(
                "\(name) \(CLIOutput.quoted(value)) is not an item id (at most 32 characters, no spaces), e.g. CY-07"
            )
        }
    }

    /// `value` of `name` is text a string field can carry and not empty (leave the option out for none).
    static func text(_ value: String?, _ name: String) throws {
        guard let value else { return }
        guard !value.isEmpty else { throw ValidationError("\(name) is empty; leave it out instead") }
        if let problem = WireText.problem(value) { throw ValidationError("\(name): \(problem)") }
    }

    /// The 32-byte entry id in `value` of `name`: 64 hex digits (as tables show it) or base64 (as `--json` gives it).
    static func entryID(_ value: String, _ name: String) throws -> [UInt8] {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        if trimmed.utf8.count == 64, let bytes = Hex.decode(trimmed) { return bytes }
        if trimmed.utf8.count == 44, let bytes = Base64.decode(trimmed), bytes.count == 32 { return bytes }
        throw ValidationError(
            "\(name) \(CLIOutput.quoted(value)) is not an entry id (64 hex digits, as `coop item history` shows, or "
                + "the base64 of --json)"
        )
    }

    /// Entry ids from `values` of `name`, each a comma-separated list of ids (see ``entryID(_:_:)``).
    static func entryIDs(_ values: [String], _ name: String) throws -> [[UInt8]] {
        var ids: [[UInt8]] = []
        for value in values {
            for part in value.split(separator: ",", omittingEmptySubsequences: false) {
                ids.append(try entryID(String(part), name))
            }
        }
        return ids
    }
}
