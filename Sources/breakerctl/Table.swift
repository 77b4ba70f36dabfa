/// Column-aligned text output, with optional ANSI colour for breaker states.
struct Table {
    var header: [String]
    var rows: [[Cell]] = []

    struct Cell {
        var text: String
        var color: String?
    }

    init(_ header: [String]) { self.header = header }

    mutating func add(_ cells: [Cell]) { rows.append(cells) }

    func render(colored: Bool) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.text.count) } }
        func line(_ cells: [Cell]) -> String {
            cells.enumerated().map { i, cell in
                let padded = i == cells.count - 1 ? cell.text : cell.text + String(repeating: " ", count: widths[i] - cell.text.count)
                guard colored, let color = cell.color else { return padded }
                return "\u{1B}[\(color)m\(cell.text)\u{1B}[0m" + String(padded.dropFirst(cell.text.count))
            }.joined(separator: "  ")
        }
        return ([line(header.map { Cell(text: $0) })] + rows.map(line)).joined(separator: "\n")
    }
}

/// Red for open, yellow for half-open, magenta for forced, green for closed.
func stateCell(_ state: String) -> Table.Cell {
    let color = switch state {
    case "open": "31"
    case "half_open": "33"
    case "forced_open": "35"
    default: "32"
    }
    return Table.Cell(text: state, color: color)
}
