import BreakerWire

/// `inspect`'s lines for the window: rates and the reporters behind them (only breakers that
/// keep a window have them).
func describePolicyState(_ b: JSONValue) -> [String] {
    var lines: [String] = []
    if let rate = b["failure_rate"]?.numberValue { lines.append("failure rate:        \(percent(rate))") }
    if let rate = b["slow_call_rate"]?.numberValue { lines.append("slow call rate:      \(percent(rate))") }
    if case .array(let reporters)? = b["reporters"] {
        let names = reporters.compactMap { if case .string(let s) = $0 { s } else { nil } }
        lines.append("reporters:           \(names.isEmpty ? "-" : names.joined(separator: ", "))")
    }
    if let reopens = b.intValue("reopen_count") { lines.append("reopens in a row:    \(reopens)") }
    return lines
}

/// `inspect`'s lines for the policy half of `config`.
func describePolicyConfig(_ c: JSONValue?) -> [String] {
    guard let c, let policy = c.stringValue("policy") else { return [] }
    var lines = ["  policy:                   \(policy)"]
    if let window = c["window"] {
        let text = switch window.stringValue("kind") {
        case "count": "count:\(window.intValue("size") ?? 0)"
        case "time": "time:\(window.intValue("seconds") ?? 0)s"
        default: "?"
        }
        lines.append("  window:                   \(text)")
    }
    lines.append("  failure rate threshold:   \(c.intValue("failure_rate_threshold") ?? 0)%")
    lines.append("  minimum calls:            \(c.intValue("minimum_calls") ?? 0)")
    let slow = c.intValue("slow_call_duration_ms").map { "\(formatDuration($0)) (trips at \(c.intValue("slow_call_rate_threshold") ?? 0)%)" }
    lines.append("  slow call duration:       \(slow ?? "off")")
    var backoff = "off"
    if let b = c["timeout_backoff"], let multiplier = b["multiplier"]?.numberValue, let maxMs = b.intValue("max_ms") {
        backoff = "\(multiplier == multiplier.rounded() ? String(Int64(multiplier)) : String(multiplier))x up to \(formatDuration(maxMs))"
    }
    lines.append("  timeout backoff:          \(backoff)")
    lines.append("  min reporters:            \(c.intValue("min_reporters").map(String.init) ?? "off")")
    lines.append("  mode:                     \(c.stringValue("mode") ?? "normal")")
    return lines
}

private func percent(_ value: Double) -> String {
    let tenths = (value * 10).rounded() / 10
    return "\(tenths)%"
}

extension JSONValue {
    var numberValue: Double? {
        switch self {
        case .int(let i): Double(i)
        case .double(let d): d
        default: nil
        }
    }
}
