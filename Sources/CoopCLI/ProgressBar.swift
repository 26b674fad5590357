import Foundation

/// A progress line on standard error, drawn only when standard error is a terminal.
final class ProgressBar {
    /// What the counts are.
    enum Unit { case count, bytes }

    private let label: String
    private let unit: Unit
    private let enabled = isatty(2) != 0
    private var lastPercent = -1

    init(label: String, unit: Unit = .count) {
        self.label = label
        self.unit = unit
    }

    func update(_ done: UInt64, of total: UInt64) {
        guard enabled, total > 0 else { return }
        // The total is an estimate (files can grow while they are read), so `done` may pass it; the bar stays full.
        let percent = done >= total ? 100 : Int(Double(done) / Double(total) * 100)
        guard percent != lastPercent else { return }
        lastPercent = percent
        let width = 30
        let filled = width * percent / 100
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let amount =
            unit == .bytes
            ? "\(String(format: "%.1f", Double(done) / 1e6))/\(String(format: "%.1f", Double(total) / 1e6)) MB"
            : "\(done)/\(total)"
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(percent)% (\(amount))".utf8))
    }

    func finish() {
        guard enabled, lastPercent >= 0 else { return }
        FileHandle.standardError.write(Data("\n".utf8))
    }
}
