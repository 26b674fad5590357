extension ProgressBar {
    /// `[#####.....]  50%`: the progress line's bar as text, `width` cells wide, for tables. Thread-safe.
    static func text(percent: Int, width: Int = 10) -> String {
        let percent = min(max(percent, 0), 100)
        let filled = width * percent / 100
        let number = String(percent)
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "] "
            + String(repeating: " ", count: 3 - number.count) + number + "%"
    }
}
