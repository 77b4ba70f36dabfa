import ArgumentParser
import BreakerWire

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show every field of one breaker.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var wait: WaitOptions

    @Argument(help: "Breaker name.")
    var name: String

    func run() throws {
        let reply = try global.connect(timeoutMs: wait.timeout).request(RequestEncoder.line(.inspect(breaker: name)), echoErrors: global.json)
        global.emit(reply) { print(describe(breaker: $0["breaker"] ?? .null, colored: global.colored)) }
    }
}

/// The human form of a breaker object, as `inspect`, `reset`, `configure`, `force-open` and
/// `release` print it.
func describe(breaker b: JSONValue, colored: Bool) -> String {
    let now = wallClockMs()
    let state = b.stringValue("state") ?? "?"
    let stateText = colored ? "\u{1B}[\(stateCell(state).color ?? "0")m\(state)\u{1B}[0m" : state
    var lines = ["name:                \(b.stringValue("name") ?? "?")", "state:               \(stateText)"]
    if let until = b.stringValue("open_until"), let t = RFC3339.parse(until) {
        lines.append("open until:          \(until) (\(formatDuration(max(0, t.millisecondsSinceEpoch - now))) left)")
    }
    if let forced = b["forced"] {
        lines.append("forced by:           \(forced.stringValue("by") ?? "-") at \(forced.stringValue("at") ?? "?")")
        lines.append("forced because:      \(forced.stringValue("reason") ?? "-")")
    }
    lines.append("generation:          \(b.intValue("generation") ?? 0)")
    lines.append("failure count:       \(b.intValue("failure_count") ?? 0)")
    lines.append("success count:       \(b.intValue("success_count") ?? 0)")
    lines.append("half-open in flight: \(b.intValue("half_open_in_flight") ?? 0)")
    lines += describePolicyState(b)
    let c = b["config"]
    lines.append("config:")
    lines.append("  failure threshold:        \(c?.intValue("failure_threshold") ?? 0)")
    lines.append("  success threshold:        \(c?.intValue("success_threshold") ?? 0)")
    lines.append("  timeout:                  \(formatDuration(c?.intValue("timeout_ms") ?? 0))")
    lines.append("  half-open max calls:      \(c?.intValue("half_open_max_calls") ?? 0)")
    lines.append("  half-open permit timeout: \(formatDuration(c?.intValue("half_open_permit_timeout_ms") ?? 0))")
    lines += describePolicyConfig(c)
    let m = b["metrics"]
    lines.append("metrics:")
    for key in ["total_calls", "successful_calls", "failed_calls", "rejected_calls"] {
        lines.append("  \((key.replacingUnderscores() + ":").padding(26))\(m?.intValue(key) ?? 0)")
    }
    lines.append("  last failure:             \(m?.stringValue("last_failure_time") ?? "-")")
    let changed = m?.stringValue("last_state_change")
    let ago = changed.flatMap(RFC3339.parse).map { " (\(formatAgo(now - $0.millisecondsSinceEpoch)))" } ?? ""
    lines.append("  last state change:        \(changed ?? "-")\(ago)")
    lines.append("transitions:")
    if case .object(let counts)? = m?["state_transitions"] {
        for (key, value) in counts.fields { lines.append("  \((key + ":").padding(26))\(value.intOrZero)") }
    }
    return lines.joined(separator: "\n")
}

extension String {
    func replacingUnderscores() -> String { String(map { $0 == "_" ? " " : $0 }) }
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}

extension JSONValue {
    var intOrZero: Int64 { if case .int(let i) = self { i } else { 0 } }
}
