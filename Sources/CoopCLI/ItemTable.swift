import CoopLedger
import CoopWire

/// The items' states as a terminal table.
enum ItemTable {
    static func render(_ states: [ItemState]) -> String {
        var table = TextTable(["ID", "Status", "%", "Updated by", "At (UTC)", "Heads", "Note"])
        for s in states {
            var status = short(s.status)
            if s.awaitingSignOff { status += " (awaiting sign-off)" }
            let heads = s.heads.count > 1 ? "\(s.heads.count) CONFLICT" : "\(s.heads.count)"
            let note = s.note.count > 40 ? String(s.note.prefix(39)) + "…" : s.note
            table.add([
                s.itemId, status, "\(s.progress)", s.updatedBy, Timestamps.format(s.updatedAt), heads, note,
            ])
        }
        return table.render()
    }

    /// `ITEM_STATUS_IN_PROGRESS` → `IN_PROGRESS`.
    static func short(_ status: ItemStatus) -> String {
        String(status.protoValueName.dropFirst("ITEM_STATUS_".count))
    }
}

/// Times as people read them, in UTC.
enum Timestamps {
    static func format(_ ts: HybridTimestamp?) -> String {
        guard let ts, ts.wallMs > 0 else { return "-" }
        let seconds = Int64(ts.wallMs / 1000)
        let days = seconds / 86_400
        let rest = seconds % 86_400
        let (y, m, d) = civil(fromDays: days)
        return String(y) + "-" + pad(m) + "-" + pad(d) + " " + pad(Int(rest / 3600)) + ":" + pad(Int(rest / 60 % 60))
    }

    /// Why a text is not a time ``parse(_:)`` takes.
    struct InvalidTime: Error {
        var reason: String
    }

    /// Milliseconds since the epoch for "YYYY-MM-DD" (the end of that day) or "YYYY-MM-DDTHH:MM[:SS][Z]", in UTC,
    /// years 0000–9999, up to the last millisecond meant (times before 1970 give 999). Each field is checked for
    /// its digits and range before any arithmetic, so no value can overflow; the error says which field is wrong.
    static func parse(_ text: String) throws(InvalidTime) -> UInt64 {
        let halves = text.split(separator: "T", maxSplits: 1, omittingEmptySubsequences: false)
        let date = halves[0].split(separator: "-", omittingEmptySubsequences: false)
        guard date.count == 3 else { throw InvalidTime(reason: "the date is not YYYY-MM-DD") }
        let y = try field(date[0], "year", digits: 4, 0...9999)
        let m = try field(date[1], "month", digits: 2, 1...12)
        let d = try field(date[2], "day", digits: 2, 1...daysInMonth(m, year: y))
        var seconds = days(fromCivil: y, m, d) * 86_400
        if halves.count == 2 {
            let time = halves[1].hasSuffix("Z") ? halves[1].dropLast() : halves[1]
            let hms = time.split(separator: ":", omittingEmptySubsequences: false)
            guard (2...3).contains(hms.count) else { throw InvalidTime(reason: "the time is not HH:MM or HH:MM:SS") }
            let h = try field(hms[0], "hour", digits: 2, 0...23)
            let mm = try field(hms[1], "minute", digits: 2, 0...59)
            let ss = hms.count == 3 ? try field(hms[2], "second", digits: 2, 0...59) : 0
            seconds += Int64(h * 3600 + mm * 60 + ss)
        } else {
            seconds += 86_399
        }
        return UInt64(max(0, seconds)) * 1000 + 999
    }

    /// The decimal number in `text` (1 to `digits` ASCII digits) if it lies in `range`.
    private static func field(
        _ text: Substring,
        _ name: String,
        digits: Int,
        _ range: ClosedRange<Int>
    ) throws(InvalidTime) -> Int {
        guard (1...digits).contains(text.utf8.count), text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let value = Int(text), range.contains(value)
        else {
            throw InvalidTime(
                reason: "the \(name) \(CLIOutput.quoted(String(text))) is not a number from \(range.lowerBound) to "
                    + "\(range.upperBound)"
            )
        }
        return value
    }

    private static func daysInMonth(_ month: Int, year: Int) -> Int {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    }

    private static func pad(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    // Howard Hinnant's civil-date algorithms.
    private static func civil(fromDays z0: Int64) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (Int(yoe + era * 400 + (m <= 2 ? 1 : 0)), Int(m), Int(d))
    }

    private static func days(fromCivil y0: Int, _ m: Int, _ d: Int) -> Int64 {
        let y = Int64(m <= 2 ? y0 - 1 : y0)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mm = Int64(m)
        let doy = (153 * (mm > 2 ? mm - 3 : mm + 9) + 2) / 5 + Int64(d) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }
}

/// CSV fields (RFC 4180).
enum CSV {
    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
