import BreakerCore
import BreakerWire

/// A breaker as breakerd showed it when it answered `inspect` or `list`: state, config,
/// counts and metrics, for a service to show or log what guards it.
public struct BreakerSnapshot: Sendable, Hashable {
    /// The breaker's name.
    public var name: String
    /// Its state (an expired OPEN period already counts as half-open).
    public var state: BreakerState
    /// Bumped on every transition.
    public var generation: UInt64
    /// Its configuration (see `BreakerConfig.timeout` and friends for the spans as `Duration`).
    public var config: BreakerConfig
    /// Failures counted towards opening (CLOSED) or successes towards closing (HALF_OPEN).
    public var failureCount: Int
    public var successCount: Int
    /// The wall time an OPEN breaker lets trials through; nil in any other state.
    public var openUntil: Timestamp?
    /// Who forced it open, when and why; nil unless `state` is `.forcedOpen`.
    public var forced: ForcedOpen?
    /// Calls, outcomes, rejections and transitions since the breaker was created.
    public var metrics: BreakerMetrics

    init(_ view: BreakerView) {
        let b = view.breaker
        name = view.name
        state = b.state
        generation = b.generation
        config = b.config
        failureCount = b.failureCount
        successCount = b.successCount
        openUntil = b.openUntil
        forced = b.forced
        metrics = b.metrics
    }
}

extension BreakerConfig {
    /// How long the breaker stays OPEN before letting a trial through (`timeout_ms`).
    public var timeout: Duration { .milliseconds(timeoutMs) }
    /// How long a half-open trial may take before its permit counts as a failure.
    public var halfOpenPermitTimeout: Duration { .milliseconds(halfOpenPermitTimeoutMs) }
    /// Calls longer than this count as slow; nil when the slow-call rule is off.
    public var slowCallDuration: Duration? { slowCallDurationMs.map { .milliseconds($0) } }
}

extension BreakerConfigPatch {
    /// A patch of the basic settings, spans of time as `Duration`s (sent in whole
    /// milliseconds, finer parts dropped; the daemon refuses what is out of range). Fields left
    /// nil are not changed; set the policy fields (`policy`, `window`, `slowCallDuration`, …)
    /// on the patch afterwards.
    @_disfavoredOverload
    public init(failureThreshold: Int? = nil, successThreshold: Int? = nil, timeout: Duration? = nil,
                halfOpenMaxCalls: Int? = nil, halfOpenPermitTimeout: Duration? = nil) {
        self.init()
        self.failureThreshold = failureThreshold
        self.successThreshold = successThreshold
        self.timeout = timeout
        self.halfOpenMaxCalls = halfOpenMaxCalls
        self.halfOpenPermitTimeout = halfOpenPermitTimeout
    }

    /// `slowCallDurationMs` as a `Duration`; `.some(nil)` turns the slow-call rule off.
    public var slowCallDuration: Duration?? {
        get { slowCallDurationMs.map { $0.map { .milliseconds($0) } } }
        set { slowCallDurationMs = newValue.map { $0.map(\.wholeMilliseconds) } }
    }

    /// `timeoutMs` as a `Duration`.
    public var timeout: Duration? {
        get { timeoutMs.map { .milliseconds($0) } }
        set { timeoutMs = newValue.map(\.wholeMilliseconds) }
    }

    /// `halfOpenPermitTimeoutMs` as a `Duration`.
    public var halfOpenPermitTimeout: Duration? {
        get { halfOpenPermitTimeoutMs.map { .milliseconds($0) } }
        set { halfOpenPermitTimeoutMs = newValue.map(\.wholeMilliseconds) }
    }
}

extension TimeoutBackoff {
    /// Each reopen multiplies the OPEN period by `multiplier`, up to `maximum` (whole milliseconds).
    public init(multiplier: Double, maximum: Duration) {
        self.init(multiplier: multiplier, maxMs: maximum.wholeMilliseconds)
    }
}

extension Duration {
    /// Whole milliseconds, rounded towards zero: what the protocol carries.
    var wholeMilliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds &* 1_000 &+ attoseconds / 1_000_000_000_000_000
    }
}
