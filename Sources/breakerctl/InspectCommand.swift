import ArgumentParser
import BreakerWire

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "inspect", abstract: "Show every field of one breaker.")

    @OptionGroup var global: GlobalOptions
    @OptionGroup var wait: WaitOptions

    @Argument(help: "Breaker name.")
    var name: String

    func run() throws {
        let reply = try global.connect(timeoutMs: wait.timeout).request(.inspect(breaker: name), echoErrors: global.json)
        global.emit(reply) { print(describe(breaker: $0, colored: global.colored)) }
    }
}

/// The human form of a breaker reply, as `inspect`, `reset`, `configure`, `force-open` and
/// `release` print it: from the decoded breaker (`ReplyDecoder`), and from the reply's JSON for
/// what the decoded value does not carry (permits in flight, the window's rates and reporters,
/// the policy's settings as sent).
func describe(breaker reply: DaemonReply, colored: Bool) -> String {
    guard case .breaker(let view) = reply.reply else { return reply.line }
    let raw = reply["breaker"] ?? .null
    let b = view.breaker
    let now = wallClockMs()
    let state = b.state.wireName
    let stateText = colored ? "\u{1B}[\(stateCell(state).color ?? "0")m\(state)\u{1B}[0m" : state
    var lines = ["name:                \(view.name)", "state:               \(stateText)"]
    if let until = b.openUntil {
        lines.append("open until:          \(RFC3339.format(until)) (\(formatDuration(max(0, until.millisecondsSinceEpoch - now))) left)")
    }
    if let forced = b.forced {
        lines.append("forced by:           \(forced.actor ?? "-") at \(RFC3339.format(forced.at))")
        lines.append("forced because:      \(forced.reason ?? "-")")
    }
    lines.append("generation:          \(b.generation)")
    lines.append("failure count:       \(b.failureCount)")
    lines.append("success count:       \(b.successCount)")
    lines.append("half-open in flight: \(raw.intValue("half_open_in_flight") ?? 0)")
    lines += describePolicyState(raw)
    let c = b.config
    lines.append("config:")
    lines.append("  failure threshold:        \(c.failureThreshold)")
    lines.append("  success threshold:        \(c.successThreshold)")
    lines.append("  timeout:                  \(formatDuration(c.timeoutMs))")
    lines.append("  half-open max calls:      \(c.halfOpenMaxCalls)")
    lines.append("  half-open permit timeout: \(formatDuration(c.halfOpenPermitTimeoutMs))")
    lines += describePolicyConfig(raw["config"])
    let m = b.metrics
    lines.append("metrics:")
    for (key, value) in [("total_calls", m.totalCalls), ("successful_calls", m.successfulCalls),
                         ("failed_calls", m.failedCalls), ("rejected_calls", m.rejectedCalls)] {
        lines.append("  \((key.replacingUnderscores() + ":").padding(26))\(value)")
    }
    lines.append("  last failure:             \(m.lastFailureTime.map(RFC3339.format) ?? "-")")
    lines.append("  last state change:        \(RFC3339.format(m.lastStateChange)) (\(formatAgo(now - m.lastStateChange.millisecondsSinceEpoch)))")
    lines.append("transitions:")
    for (kind, count) in m.transitionCounts { lines.append("  \((kind.key + ":").padding(26))\(count)") }
    return lines.joined(separator: "\n")
}

extension String {
    func replacingUnderscores() -> String { String(map { $0 == "_" ? " " : $0 }) }
    func padding(_ width: Int) -> String { count >= width ? self + " " : self + String(repeating: " ", count: width - count) }
}
