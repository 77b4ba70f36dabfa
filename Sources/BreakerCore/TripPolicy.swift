/// What makes a CLOSED breaker trip on failures.
public enum TripPolicy: String, Sendable, Hashable, CaseIterable {
    /// `failure_threshold` failures in a row (the seed's rule, the default).
    case consecutive
    /// A failure rate over a sliding window: catches a dependency that fails 40% of calls
    /// without ever failing five in a row.
    case rate

    public var wireName: String { rawValue }
}

/// The calls a rate is computed over.
public enum WindowSpec: Sendable, Hashable {
    /// The last `size` calls recorded in CLOSED.
    case count(size: Int)
    /// The calls recorded in the current second and the `seconds - 1` whole seconds before it
    /// (per-second buckets, so the span is between `seconds - 1` and `seconds` long).
    case time(seconds: Int)

    public static let `default` = WindowSpec.count(size: 100)
}

/// Open-duration backoff: each reopen from HALF_OPEN waits `multiplier` times longer than the
/// previous opening, up to `maxMs`; the streak restarts when the breaker closes. A dependency
/// that keeps failing its trials is probed less and less often instead of every `timeout_ms`.
public struct TimeoutBackoff: Sendable, Hashable {
    public var multiplier: Double
    public var maxMs: Int64

    public init(multiplier: Double, maxMs: Int64) {
        self.multiplier = multiplier
        self.maxMs = maxMs
    }
}

/// How a breaker's decisions are used.
public enum BreakerMode: String, Sendable, Hashable, CaseIterable {
    /// Decisions are enforced.
    case normal
    /// Outcomes are counted and the state machine runs (transitions are reported), but every
    /// call is allowed: for trying a policy on production traffic without risk.
    case metricsOnly = "metrics_only"
    /// Every call is allowed and outcomes are ignored.
    case disabled

    public var wireName: String { rawValue }
}

/// The trip decision for a CLOSED breaker, kept apart from the state machine so each rule
/// reads on its own.
enum PolicyEvaluator {
    /// The reason to open, or nil to stay CLOSED. Rates need `minimum_calls` calls in the
    /// window (no trip on 1 failure out of 1) and trip when the threshold is reached (`>=`).
    /// With `min_reporters`, no rule trips until that many distinct clients reported a failure
    /// or slow call in the window: one broken replica cannot cut everyone off.
    static func tripReason(_ config: BreakerConfig, failureCount: Int, window: SlidingWindow?) -> TransitionReason? {
        var reason: TransitionReason?
        if config.policy == .consecutive, failureCount >= config.failureThreshold {
            reason = .failureThreshold
        }
        if reason == nil, let window, window.calls > 0, window.calls >= config.minimumCalls {
            if config.policy == .rate, reached(window.failures, of: window.calls, config.failureRateThreshold) {
                reason = .failureRate
            } else if config.slowCallDurationMs != nil, reached(window.slowCalls, of: window.calls, config.slowCallRateThreshold) {
                reason = .slowCallRate
            }
        }
        guard let reason else { return nil }
        if let quorum = config.minReporters, quorum > 1, (window?.reporterCount ?? 0) < quorum { return nil }
        return reason
    }

    /// `part / whole >= percent / 100`, compared exactly (no rounding at the threshold).
    private static func reached(_ part: Int, of whole: Int, _ percent: Int) -> Bool {
        let (lhs, o1) = part.multipliedReportingOverflow(by: 100)
        let (rhs, o2) = whole.multipliedReportingOverflow(by: percent)
        if o1 || o2 { return Double(part) * 100 >= Double(whole) * Double(percent) }
        return lhs >= rhs
    }
}
