/// How one breaker trips and recovers. Defaults follow the seed design (5 / 2 / 60 s / 1 / 30 s)
/// and reproduce it exactly: consecutive policy, no slow-call rule, no backoff, no quorum, mode
/// normal. The rate, slow-call and quorum settings are in `BreakerConfig+Policy.swift`.
public struct BreakerConfig: Sendable, Hashable {
    /// Consecutive failures in CLOSED that open the breaker.
    public var failureThreshold: Int
    /// Successful trials in HALF_OPEN that close it.
    public var successThreshold: Int
    /// How long it stays OPEN, counted from the moment it opened.
    public var timeoutMs: Int64
    /// Trials outstanding at once in HALF_OPEN, across all clients.
    public var halfOpenMaxCalls: Int
    /// A trial not reported within this time is released and counts as a failure.
    public var halfOpenPermitTimeoutMs: Int64
    /// What trips a CLOSED breaker on failures.
    public var policy: TripPolicy
    /// The calls rates (and quorum reporters) are computed over.
    public var window: WindowSpec
    /// `rate` policy: failure percentage (1–100) that trips the breaker.
    public var failureRateThreshold: Int
    /// Calls the window must hold before a rate can trip it.
    public var minimumCalls: Int
    /// A call at least this slow counts as slow; nil: no slow-call rule.
    public var slowCallDurationMs: Int64?
    /// Slow-call percentage (1–100) that trips the breaker, with `slowCallDurationMs` set.
    public var slowCallRateThreshold: Int
    /// Longer OPEN periods after each reopen from HALF_OPEN; nil: always `timeoutMs`.
    public var timeoutBackoff: TimeoutBackoff?
    /// Distinct clients that must report bad calls in the window before any rule trips.
    public var minReporters: Int?
    public var mode: BreakerMode

    public init(
        failureThreshold: Int = 5,
        successThreshold: Int = 2,
        timeoutMs: Int64 = 60_000,
        halfOpenMaxCalls: Int = 1,
        halfOpenPermitTimeoutMs: Int64 = 30_000,
        policy: TripPolicy = .consecutive,
        window: WindowSpec = .default,
        failureRateThreshold: Int = 50,
        minimumCalls: Int = 20,
        slowCallDurationMs: Int64? = nil,
        slowCallRateThreshold: Int = 100,
        timeoutBackoff: TimeoutBackoff? = nil,
        minReporters: Int? = nil,
        mode: BreakerMode = .normal
    ) {
        self.failureThreshold = failureThreshold
        self.successThreshold = successThreshold
        self.timeoutMs = timeoutMs
        self.halfOpenMaxCalls = halfOpenMaxCalls
        self.halfOpenPermitTimeoutMs = halfOpenPermitTimeoutMs
        self.policy = policy
        self.window = window
        self.failureRateThreshold = failureRateThreshold
        self.minimumCalls = minimumCalls
        self.slowCallDurationMs = slowCallDurationMs
        self.slowCallRateThreshold = slowCallRateThreshold
        self.timeoutBackoff = timeoutBackoff
        self.minReporters = minReporters
        self.mode = mode
    }

    public static let `default` = BreakerConfig()

    /// Accepted ranges. Wide enough for any real dependency, narrow enough that arithmetic on
    /// deadlines and counts can never overflow.
    public enum Limits {
        public static let threshold: ClosedRange<Int> = 1...1_000_000
        public static let timeoutMs: ClosedRange<Int64> = 1...2_592_000_000  // 30 days
        public static let halfOpenMaxCalls: ClosedRange<Int> = 1...10_000
        public static let permitTimeoutMs: ClosedRange<Int64> = 1...86_400_000  // 1 day
        public static let percent: ClosedRange<Int> = 1...100
        public static let countWindow: ClosedRange<Int> = 1...10_000
        public static let timeWindowSeconds: ClosedRange<Int> = 1...3_600
        public static let minimumCalls: ClosedRange<Int> = 1...1_000_000
        public static let slowCallDurationMs: ClosedRange<Int64> = 1...86_400_000
        public static let backoffMultiplier: ClosedRange<Double> = 1...100
        public static let minReporters: ClosedRange<Int> = 1...SlidingWindow.maxReporters
    }

    /// Checks every field against `Limits`, then the combinations (`validatePolicy`); the first
    /// problem is reported.
    public func validate() throws(ConfigError) {
        try Self.check("failure_threshold", failureThreshold, Limits.threshold)
        try Self.check("success_threshold", successThreshold, Limits.threshold)
        try Self.check("timeout_ms", timeoutMs, Limits.timeoutMs)
        try Self.check("half_open_max_calls", halfOpenMaxCalls, Limits.halfOpenMaxCalls)
        try Self.check("half_open_permit_timeout_ms", halfOpenPermitTimeoutMs, Limits.permitTimeoutMs)
        try validatePolicy()
    }

    static func check<T: BinaryInteger>(_ field: String, _ value: T, _ range: ClosedRange<T>) throws(ConfigError) {
        guard range.contains(value) else {
            throw ConfigError(field: field, message: "\(field) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
    }
}

/// A partial configuration, as sent by `configure`: fields left `nil` keep their value.
public struct BreakerConfigPatch: Sendable, Hashable {
    public var failureThreshold: Int?
    public var successThreshold: Int?
    public var timeoutMs: Int64?
    public var halfOpenMaxCalls: Int?
    public var halfOpenPermitTimeoutMs: Int64?
    public var policy: TripPolicy?
    public var window: WindowSpec?
    public var failureRateThreshold: Int?
    public var minimumCalls: Int?
    /// `.some(nil)` turns the slow-call rule off (JSON `null`).
    public var slowCallDurationMs: Int64??
    public var slowCallRateThreshold: Int?
    /// `.some(nil)` turns backoff off (JSON `null`).
    public var timeoutBackoff: TimeoutBackoff??
    /// `.some(nil)` turns the quorum off (JSON `null`).
    public var minReporters: Int??
    public var mode: BreakerMode?

    public init(
        failureThreshold: Int? = nil, successThreshold: Int? = nil, timeoutMs: Int64? = nil,
        halfOpenMaxCalls: Int? = nil, halfOpenPermitTimeoutMs: Int64? = nil,
        policy: TripPolicy? = nil, window: WindowSpec? = nil, failureRateThreshold: Int? = nil,
        minimumCalls: Int? = nil, slowCallDurationMs: Int64?? = nil, slowCallRateThreshold: Int? = nil,
        timeoutBackoff: TimeoutBackoff?? = nil, minReporters: Int?? = nil, mode: BreakerMode? = nil
    ) {
        self.failureThreshold = failureThreshold
        self.successThreshold = successThreshold
        self.timeoutMs = timeoutMs
        self.halfOpenMaxCalls = halfOpenMaxCalls
        self.halfOpenPermitTimeoutMs = halfOpenPermitTimeoutMs
        self.policy = policy
        self.window = window
        self.failureRateThreshold = failureRateThreshold
        self.minimumCalls = minimumCalls
        self.slowCallDurationMs = slowCallDurationMs
        self.slowCallRateThreshold = slowCallRateThreshold
        self.timeoutBackoff = timeoutBackoff
        self.minReporters = minReporters
        self.mode = mode
    }

    /// `base` with every field this patch sets replaced, validated.
    public func applied(to base: BreakerConfig) throws(ConfigError) -> BreakerConfig {
        var config = base
        if let failureThreshold { config.failureThreshold = failureThreshold }
        if let successThreshold { config.successThreshold = successThreshold }
        if let timeoutMs { config.timeoutMs = timeoutMs }
        if let halfOpenMaxCalls { config.halfOpenMaxCalls = halfOpenMaxCalls }
        if let halfOpenPermitTimeoutMs { config.halfOpenPermitTimeoutMs = halfOpenPermitTimeoutMs }
        if let policy { config.policy = policy }
        if let window { config.window = window }
        if let failureRateThreshold { config.failureRateThreshold = failureRateThreshold }
        if let minimumCalls { config.minimumCalls = minimumCalls }
        if let slowCallDurationMs { config.slowCallDurationMs = slowCallDurationMs }
        if let slowCallRateThreshold { config.slowCallRateThreshold = slowCallRateThreshold }
        if let timeoutBackoff { config.timeoutBackoff = timeoutBackoff }
        if let minReporters { config.minReporters = minReporters }
        if let mode { config.mode = mode }
        try config.validate()
        return config
    }
}

/// A configuration value out of range. The wire protocol reports it as `bad_request`.
public struct ConfigError: Error, Sendable, Hashable {
    public var field: String
    public var message: String
}
