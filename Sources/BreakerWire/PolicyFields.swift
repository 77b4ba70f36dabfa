import BreakerCore

/// The policy settings of `configure`'s `config` object: `policy`, `window`, rates, slow calls,
/// backoff, quorum and mode. `null` turns an optional rule off; ranges are checked here (with the
/// field's name) and combinations by `BreakerConfig.validate()` once the patch is applied.
public enum PolicyFields {
    /// The keys `decode` reads, in the order `json` writes them.
    public static let keys = [
        "policy", "window", "failure_rate_threshold", "minimum_calls", "slow_call_duration_ms", "slow_call_rate_threshold",
        "timeout_backoff", "min_reporters", "mode",
    ]

    /// The policy fields of `config` as `inspect` shows them (rules that are off are `null`).
    public static func json(_ c: BreakerConfig) -> [(key: String, value: JSONValue)] {
        let window: JSONObject = switch c.window {
        case .count(let size): ["kind": .string("count"), "size": .int(Int64(size))]
        case .time(let seconds): ["kind": .string("time"), "seconds": .int(Int64(seconds))]
        }
        var backoff = JSONValue.null
        if let b = c.timeoutBackoff {
            let multiplier: JSONValue = Int64(exactly: b.multiplier).map { .int($0) } ?? .double(b.multiplier)
            backoff = .object(["multiplier": multiplier, "max_ms": .int(b.maxMs)])
        }
        return [
            ("policy", .string(c.policy.wireName)),
            ("window", .object(window)),
            ("failure_rate_threshold", .int(Int64(c.failureRateThreshold))),
            ("minimum_calls", .int(Int64(c.minimumCalls))),
            ("slow_call_duration_ms", c.slowCallDurationMs.map { .int($0) } ?? .null),
            ("slow_call_rate_threshold", .int(Int64(c.slowCallRateThreshold))),
            ("timeout_backoff", backoff),
            ("min_reporters", c.minReporters.map { .int(Int64($0)) } ?? .null),
            ("mode", .string(c.mode.wireName)),
        ]
    }

    /// Reads the policy keys of `c` into `patch` (other keys are left to the caller).
    public static func decode(_ c: JSONObject, into patch: inout BreakerConfigPatch) throws(WireError) {
        let b = BreakerConfig.Limits.self
        func int(_ key: String, _ range: ClosedRange<Int>) throws(WireError) -> Int? {
            try RequestDecoder.integer(c, key, in: Int64(range.lowerBound)...Int64(range.upperBound)).map { Int($0) }
        }
        if let text = try word(c, "policy", TripPolicy.allCases.map(\.wireName)) { patch.policy = TripPolicy(rawValue: text) }
        if let value = c["window"] { patch.window = try window(value) }
        patch.failureRateThreshold = try int("failure_rate_threshold", b.percent)
        patch.minimumCalls = try int("minimum_calls", b.minimumCalls)
        if c["slow_call_duration_ms"] == .null {
            patch.slowCallDurationMs = .some(nil)
        } else if let ms = try RequestDecoder.integer(c, "slow_call_duration_ms", in: b.slowCallDurationMs) {
            patch.slowCallDurationMs = ms
        }
        patch.slowCallRateThreshold = try int("slow_call_rate_threshold", b.percent)
        if let value = c["timeout_backoff"] { patch.timeoutBackoff = .some(try backoff(value)) }
        if c["min_reporters"] == .null {
            patch.minReporters = .some(nil)
        } else if let n = try int("min_reporters", b.minReporters) {
            patch.minReporters = n
        }
        if let text = try word(c, "mode", BreakerMode.allCases.map(\.wireName)) { patch.mode = BreakerMode(rawValue: text) }
    }

    /// A string field that must be one of `choices`.
    private static func word(_ c: JSONObject, _ key: String, _ choices: [String]) throws(WireError) -> String? {
        guard let value = c[key] else { return nil }
        guard case .string(let text) = value, choices.contains(text) else {
            throw WireError(.badRequest, "field '\(key)' must be one of \(choices.map { "\"\($0)\"" }.joined(separator: ", "))")
        }
        return text
    }

    /// `{"kind":"count","size":N}` or `{"kind":"time","seconds":N}`.
    private static func window(_ value: JSONValue) throws(WireError) -> WindowSpec {
        let shape = #"field 'window' must be {"kind":"count","size":N} or {"kind":"time","seconds":N}"#
        guard case .object(let w) = value, case .string(let kind)? = w["kind"], w.fields.count == 2 else {
            throw WireError(.badRequest, shape)
        }
        let b = BreakerConfig.Limits.self
        switch kind {
        case "count":
            guard w["size"] != nil else { throw WireError(.badRequest, shape) }
            let size = try RequestDecoder.integer(w, "size", in: Int64(b.countWindow.lowerBound)...Int64(b.countWindow.upperBound))!
            return .count(size: Int(size))
        case "time":
            guard w["seconds"] != nil else { throw WireError(.badRequest, shape) }
            let seconds = try RequestDecoder.integer(
                w, "seconds", in: Int64(b.timeWindowSeconds.lowerBound)...Int64(b.timeWindowSeconds.upperBound))!
            return .time(seconds: Int(seconds))
        default:
            throw WireError(.badRequest, shape)
        }
    }

    /// `null` (off) or `{"multiplier":M,"max_ms":N}`; M may have a fraction.
    private static func backoff(_ value: JSONValue) throws(WireError) -> TimeoutBackoff? {
        if value == .null { return nil }
        let shape = #"field 'timeout_backoff' must be null or {"multiplier":M,"max_ms":N}"#
        guard case .object(let o) = value, o.fields.count == 2, let m = o["multiplier"], o["max_ms"] != nil else {
            throw WireError(.badRequest, shape)
        }
        let multiplier: Double
        switch m {
        case .int(let i): multiplier = Double(i)
        case .double(let d): multiplier = d
        default: throw WireError(.badRequest, "field 'multiplier' must be a number")
        }
        guard multiplier.isFinite, BreakerConfig.Limits.backoffMultiplier.contains(multiplier) else {
            throw WireError(.badRequest, "field 'multiplier' must be between 1 and 100, got \(multiplier)")
        }
        let maxMs = try RequestDecoder.integer(o, "max_ms", in: BreakerConfig.Limits.timeoutMs)!
        return TimeoutBackoff(multiplier: multiplier, maxMs: maxMs)
    }
}
