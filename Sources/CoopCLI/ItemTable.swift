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

    /// Milliseconds since the epoch for "YYYY-MM-DD" (end of that day) or "YYYY-MM-DDTHH:MM[:SS]Z".
    static func parse(_ text: String) -> UInt64? {
        let parts = text.split(separator: "T", maxSplits: 1)
        let date = parts[0].split(separator: "-")
        guard date.count == 3, let y = Int(date[0]), let m = Int(date[1]), let d = Int(date[2]),
            (1...12).contains(m), (1...31).contains(d)
        else { return nil }
        var seconds = days(fromCivil: y, m, d) * 86_400
        if parts.count == 2 {
            let time = parts[1].hasSuffix("Z") ? parts[1].dropLast() : parts[1]
            let hms = time.split(separator: ":").map { Int($0) }
            guard (2...3).contains(hms.count), hms.allSatisfy({ $0 != nil }) else { return nil }
            seconds += Int64(hms[0]! * 3600 + hms[1]! * 60 + (hms.count == 3 ? hms[2]! : 0))
            return UInt64(max(0, seconds)) * 1000 + 999
        }
        return UInt64(max(0, seconds + 86_399)) * 1000 + 999
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
