import CoopLedger
import CoopWire

/// What the node answered to a write, for people.
enum ItemAppend {
    /// `appended <entry> (origin #seq); CY-07 is now IN_PROGRESS 40%`.
    static func summary(_ response: AppendResponse, language: ItemTable.Language) -> String {
        let s = response.state ?? ItemState()
        let status = s.awaitingSignOff ? "\(ItemTable.short(s.status)) (awaiting sign-off)" : ItemTable.short(s.status)
        return language.pick("appended entry ", "已写入条目 ") + Hex.encode(response.entryId)
            + " (\(response.origin) #\(response.sequence))\n"
            + language.pick("\(s.itemId) is now \(status) \(s.progress)%", "\(s.itemId) 当前 \(status) \(s.progress)%")
    }
}
