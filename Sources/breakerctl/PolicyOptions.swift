import ArgumentParser
import BreakerCore
import BreakerWire

/// `configure`'s trip-policy flags: rate windows, slow calls, backoff, quorum and mode.
/// `off` turns an optional rule off (sent as JSON `null`).
struct PolicyOptions: ParsableArguments {
    @Option(help: "What trips the breaker: consecutive or rate.", transform: { try choice($0, TripPolicy.init(rawValue:)) })
    var policy: TripPolicy?

    @Option(help: "Window for rates: count:N (last N calls) or time:Ns (e.g. time:60s, per-second buckets).", transform: parseWindow)
    var window: WindowSpec?

    @Option(name: .customLong("failure-rate-threshold"), help: "Failure percentage (1-100) that trips a rate breaker.")
    var failureRateThreshold: Int?

    @Option(name: .customLong("minimum-calls"), help: "Calls the window must hold before a rate can trip.")
    var minimumCalls: Int?

    // The three rules that can be turned off are parsed as `Wrapped<T?>`: ArgumentParser cannot
    // tell "absent" from "off" with a double optional.
    @Option(name: .customLong("slow-call-duration"), help: "A call at least this slow is slow (e.g. 2s), or off.",
            transform: { Wrapped(value: try parseOptionalDuration($0)) })
    var slowCallDuration: Wrapped<Int64?>?

    @Option(name: .customLong("slow-call-rate-threshold"), help: "Slow-call percentage (1-100) that trips the breaker.")
    var slowCallRateThreshold: Int?

    @Option(name: .customLong("timeout-backoff"), help: "Reopen backoff MULTIPLIERx:MAX (e.g. 2x:5m), or off.",
            transform: { Wrapped(value: try parseBackoff($0)) })
    var timeoutBackoff: Wrapped<TimeoutBackoff?>?

    @Option(name: .customLong("min-reporters"), help: "Distinct clients that must report failures before it trips, or off.",
            transform: { Wrapped(value: try parseOptionalCount($0)) })
    var minReporters: Wrapped<Int?>?

    @Option(help: "normal, metrics_only (never rejects) or disabled (ignores everything).", transform: { try choice($0, BreakerMode.init(rawValue:)) })
    var mode: BreakerMode?

    var isEmpty: Bool {
        policy == nil && window == nil && failureRateThreshold == nil && minimumCalls == nil && slowCallDuration == nil
            && slowCallRateThreshold == nil && timeoutBackoff == nil && minReporters == nil && mode == nil
    }

    func apply(to patch: inout BreakerConfigPatch) {
        if let policy { patch.policy = policy }
        if let window { patch.window = window }
        if let failureRateThreshold { patch.failureRateThreshold = failureRateThreshold }
        if let minimumCalls { patch.minimumCalls = minimumCalls }
        if let slowCallDuration { patch.slowCallDurationMs = .some(slowCallDuration.value) }
        if let slowCallRateThreshold { patch.slowCallRateThreshold = slowCallRateThreshold }
        if let timeoutBackoff { patch.timeoutBackoff = .some(timeoutBackoff.value) }
        if let minReporters { patch.minReporters = .some(minReporters.value) }
        if let mode { patch.mode = mode }
    }
}

private func choice<T: CaseIterable & RawRepresentable>(_ text: String, _ make: (String) -> T?) throws -> T where T.RawValue == String {
    guard let value = make(text) else {
        throw ValidationError("'\(text)' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return value
}

/// `count:100` or `time:60s` (the time part takes any duration that is whole seconds).
func parseWindow(_ text: String) throws -> WindowSpec {
    let usage = ValidationError("'\(text)' is not a window (use e.g. count:100 or time:60s)")
    let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
    guard parts.count == 2 else { throw usage }
    switch parts[0] {
    case "count":
        guard let size = Int(parts[1]), size > 0 else { throw usage }
        return .count(size: size)
    case "time":
        let ms = try parseDuration(parts[1].allSatisfy(\.isNumber) ? parts[1] + "s" : parts[1])
        guard ms > 0, ms % 1000 == 0, ms / 1000 <= Int64(Int32.max) else { throw usage }
        return .time(seconds: Int(ms / 1000))
    default:
        throw usage
    }
}

/// A parsed value that may itself be "off" (nil).
struct Wrapped<T: Sendable>: Sendable {
    var value: T
}

func parseOptionalDuration(_ text: String) throws -> Int64? {
    text == "off" ? nil : try parseDuration(text)
}

func parseOptionalCount(_ text: String) throws -> Int? {
    if text == "off" { return nil }
    guard let n = Int(text) else { throw ValidationError("'\(text)' is not a number or off") }
    return n
}

/// `2x:5m` (multiplier, then the longest open duration), or `off`.
func parseBackoff(_ text: String) throws -> TimeoutBackoff? {
    if text == "off" { return nil }
    let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
    guard parts.count == 2, parts[0].hasSuffix("x"), let multiplier = Double(parts[0].dropLast()), multiplier.isFinite else {
        throw ValidationError("'\(text)' is not a backoff (use e.g. 2x:5m or off)")
    }
    return TimeoutBackoff(multiplier: multiplier, maxMs: try parseDuration(parts[1]))
}
