/// How one breaker trips and recovers. Defaults follow the seed design (5 / 2 / 60 s / 1 / 30 s).
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

    public init(
        failureThreshold: Int = 5,
        successThreshold: Int = 2,
        timeoutMs: Int64 = 60_000,
        halfOpenMaxCalls: Int = 1,
        halfOpenPermitTimeoutMs: Int64 = 30_000
    ) {
        self.failureThreshold = failureThreshold
        self.successThreshold = successThreshold
        self.timeoutMs = timeoutMs
        self.halfOpenMaxCalls = halfOpenMaxCalls
        self.halfOpenPermitTimeoutMs = halfOpenPermitTimeoutMs
    }

    public static let `default` = BreakerConfig()

    /// Accepted ranges. Wide enough for any real dependency, narrow enough that arithmetic on
    /// deadlines and counts can never overflow.
    public enum Limits {
        public static let threshold: ClosedRange<Int> = 1...1_000_000
        public static let timeoutMs: ClosedRange<Int64> = 1...2_592_000_000  // 30 days
        public static let halfOpenMaxCalls: ClosedRange<Int> = 1...10_000
        public static let permitTimeoutMs: ClosedRange<Int64> = 1...86_400_000  // 1 day
    }

    /// Checks every field against `Limits`; the first field out of range is reported.
    public func validate() throws(ConfigError) {
        try Self.check("failure_threshold", failureThreshold, Limits.threshold)
        try Self.check("success_threshold", successThreshold, Limits.threshold)
        try Self.check("timeout_ms", timeoutMs, Limits.timeoutMs)
        try Self.check("half_open_max_calls", halfOpenMaxCalls, Limits.halfOpenMaxCalls)
        try Self.check("half_open_permit_timeout_ms", halfOpenPermitTimeoutMs, Limits.permitTimeoutMs)
    }

    private static func check<T: BinaryInteger>(_ field: String, _ value: T, _ range: ClosedRange<T>) throws(ConfigError) {
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

    public init(
        failureThreshold: Int? = nil, successThreshold: Int? = nil, timeoutMs: Int64? = nil,
        halfOpenMaxCalls: Int? = nil, halfOpenPermitTimeoutMs: Int64? = nil
    ) {
        self.failureThreshold = failureThreshold
        self.successThreshold = successThreshold
        self.timeoutMs = timeoutMs
        self.halfOpenMaxCalls = halfOpenMaxCalls
        self.halfOpenPermitTimeoutMs = halfOpenPermitTimeoutMs
    }

    /// `base` with every field this patch sets replaced, validated.
    public func applied(to base: BreakerConfig) throws(ConfigError) -> BreakerConfig {
        var config = base
        if let failureThreshold { config.failureThreshold = failureThreshold }
        if let successThreshold { config.successThreshold = successThreshold }
        if let timeoutMs { config.timeoutMs = timeoutMs }
        if let halfOpenMaxCalls { config.halfOpenMaxCalls = halfOpenMaxCalls }
        if let halfOpenPermitTimeoutMs { config.halfOpenPermitTimeoutMs = halfOpenPermitTimeoutMs }
        try config.validate()
        return config
    }
}

/// A configuration value out of range. The wire protocol reports it as `bad_request`.
public struct ConfigError: Error, Sendable, Hashable {
    public var field: String
    public var message: String
}
