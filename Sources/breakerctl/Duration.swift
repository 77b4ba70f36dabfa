import ArgumentParser

/// Parses `500ms`, `30s`, `2m`, `1h` (or a bare number of milliseconds) into milliseconds.
func parseDuration(_ text: String) throws -> Int64 {
    let units: [(suffix: String, ms: Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
    for unit in units where text.hasSuffix(unit.suffix) {
        let number = text.dropLast(unit.suffix.count)
        if let value = Int64(number), value >= 0, value <= Int64.max / unit.ms { return value * unit.ms }
        throw ValidationError("'\(text)' is not a duration (use e.g. 500ms, 30s, 2m, 1h)")
    }
    guard let ms = Int64(text), ms >= 0 else {
        throw ValidationError("'\(text)' is not a duration (use e.g. 500ms, 30s, 2m, 1h)")
    }
    return ms
}

/// `1500` → `1.5s`, `120000` → `2m`: the shortest exact form.
func formatDuration(_ ms: Int64) -> String {
    if ms % 3_600_000 == 0 && ms > 0 { return "\(ms / 3_600_000)h" }
    if ms % 60_000 == 0 && ms > 0 { return "\(ms / 60_000)m" }
    if ms % 1000 == 0 && ms > 0 { return "\(ms / 1000)s" }
    if ms >= 1000 { return "\(ms / 1000).\(String(ms % 1000 + 1000).dropFirst())s" }
    return "\(ms)ms"
}

/// Roughly how long ago, for tables: `12s ago`, `3m ago`, `5h ago`, `2d ago`.
func formatAgo(_ ms: Int64) -> String {
    switch ms {
    case ..<0: "just now"
    case ..<60_000: "\(ms / 1000)s ago"
    case ..<3_600_000: "\(ms / 60_000)m ago"
    case ..<86_400_000: "\(ms / 3_600_000)h ago"
    default: "\(ms / 86_400_000)d ago"
    }
}
