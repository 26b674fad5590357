/// One line of the results table: a figure, its ratio to what it is compared with, and the goal.
struct Row {
    var number: String
    var what: String
    var figure: String
    var ratio: String = ""
    var goal: String = ""
    /// Whether the goal was met; `nil` when the row has no goal (a reference figure).
    var met: Bool? = nil
    /// Cores this process kept busy during the measurement (CPU time ÷ wall time), when measured.
    var cpu: Double? = nil
    /// The measurement (or one it is compared with) got less CPU than it could use: other processes were running.
    var contended = false
}

/// The results table, printed at the end of a run.
struct Summary {
    private(set) var rows: [Row] = []

    mutating func add(_ row: Row) {
        rows.append(row)
    }

    /// Rows in measurement order (by number: 1, 2, 3, 3a, …), whatever order they were taken in.
    var ordered: [Row] {
        rows.enumerated().sorted { ($0.element.number, $0.offset) < ($1.element.number, $1.offset) }.map(\.element)
    }

    /// The table as text, columns padded.
    func render() -> String {
        let header = ["#", "measurement", "figure", "ratio", "goal", "met", "cpu"]
        let cells =
            [header]
            + ordered.map {
                [
                    $0.number, $0.what, $0.figure, $0.ratio, $0.goal, verdict($0.met),
                    ($0.cpu.map(busy) ?? "") + ($0.contended ? "*" : ""),
                ]
            }
        var widths = [Int](repeating: 0, count: header.count)
        for line in cells {
            for (i, cell) in line.enumerated() { widths[i] = max(widths[i], cell.count) }
        }
        var out: [String] = []
        for (n, line) in cells.enumerated() {
            let text = line.enumerated().map { i, cell in
                i == line.count - 1 ? cell : cell + String(repeating: " ", count: widths[i] - cell.count)
            }
            out.append(text.joined(separator: "  ").trimmingTrailingSpaces())
            if n == 0 { out.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")) }
        }
        if rows.contains(where: \.contended) {
            out.append("")
            out.append(
                "* starved: a CPU-bound measurement (or one this row is compared with) got under 0.9 of a core per "
                    + "thread;"
            )
            out.append("  other processes took the rest, so the figure is low and ratios built on it are off")
        }
        return out.joined(separator: "\n")
    }

    private func busy(_ cores: Double) -> String {
        String(format: "%.2f", cores)
    }

    private func verdict(_ met: Bool?) -> String {
        switch met {
        case true?: "yes"
        case false?: "NO"
        case nil: "-"
        }
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
