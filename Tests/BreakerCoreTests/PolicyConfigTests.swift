import Testing
@testable import BreakerCore

/// Validation of the policy settings: ranges and the combinations that could never trip.
@Suite struct PolicyConfigTests {
    @Test(arguments: [
        (BreakerConfig(window: .count(size: 0)), "window", "window size must be between 1 and 10000 calls, got 0"),
        (BreakerConfig(window: .time(seconds: 3_601)), "window", "window seconds must be between 1 and 3600, got 3601"),
        (BreakerConfig(failureRateThreshold: 101), "failure_rate_threshold", "failure_rate_threshold must be between 1 and 100, got 101"),
        (BreakerConfig(failureRateThreshold: 0), "failure_rate_threshold", "failure_rate_threshold must be between 1 and 100, got 0"),
        (BreakerConfig(minimumCalls: 0), "minimum_calls", "minimum_calls must be between 1 and 1000000, got 0"),
        (BreakerConfig(slowCallDurationMs: 0), "slow_call_duration_ms", "slow_call_duration_ms must be between 1 and 86400000, got 0"),
        (BreakerConfig(slowCallRateThreshold: 0), "slow_call_rate_threshold", "slow_call_rate_threshold must be between 1 and 100, got 0"),
        (BreakerConfig(timeoutBackoff: TimeoutBackoff(multiplier: 0.5, maxMs: 120_000)), "timeout_backoff",
         "timeout_backoff.multiplier must be between 1 and 100, got 0.5"),
        (BreakerConfig(timeoutMs: 60_000, timeoutBackoff: TimeoutBackoff(multiplier: 2, maxMs: 30_000)), "timeout_backoff",
         "timeout_backoff.max_ms must be between timeout_ms (60000) and 2592000000, got 30000"),
        (BreakerConfig(minReporters: 1_001), "min_reporters", "min_reporters must be between 1 and 1000, got 1001"),
        (BreakerConfig(policy: .rate, window: .count(size: 10), minimumCalls: 20), "minimum_calls",
         "minimum_calls (20) is larger than the count window (10 calls): the rate could never be evaluated"),
        (BreakerConfig(window: .count(size: 10), minimumCalls: 5, minReporters: 11), "min_reporters",
         "min_reporters (11) is larger than the count window (10 calls): the quorum could never be met"),
    ] as [(BreakerConfig, String, String)])
    func impossibleSettingsAreRejectedWithTheirField(config: BreakerConfig, field: String, message: String) {
        let error = #expect(throws: ConfigError.self) { try config.validate() }
        #expect(error == ConfigError(field: field, message: message))
    }

    @Test func aSmallWindowIsFineWhileNothingUsesIt() throws {
        try BreakerConfig(window: .count(size: 10), minimumCalls: 20).validate()
        try BreakerConfig(policy: .rate, window: .time(seconds: 1), minimumCalls: 1_000_000).validate()
    }

    @Test func patchSetsAndClearsTheOptionalRules() throws {
        let base = BreakerConfig(slowCallDurationMs: 2_000, timeoutBackoff: TimeoutBackoff(multiplier: 2, maxMs: 300_000), minReporters: 2)
        #expect(try BreakerConfigPatch().applied(to: base) == base)
        #expect(try BreakerConfigPatch(slowCallDurationMs: .some(nil), timeoutBackoff: .some(nil), minReporters: .some(nil))
            .applied(to: base) == BreakerConfig())
        #expect(try BreakerConfigPatch(policy: .rate, window: .time(seconds: 60), failureRateThreshold: 25, minimumCalls: 50,
                                       slowCallRateThreshold: 80, mode: .metricsOnly).applied(to: .default)
            == BreakerConfig(policy: .rate, window: .time(seconds: 60), failureRateThreshold: 25, minimumCalls: 50,
                             slowCallRateThreshold: 80, mode: .metricsOnly))
    }

    @Test func changingTheWindowStartsItEmptyAndKeepsTheState() {
        var breaker = CircuitBreaker(config: BreakerConfig(policy: .rate, minimumCalls: 50), createdAt: t0)
        _ = breaker.record(.failure, count: 3, at: t0)
        breaker.config.failureRateThreshold = 90
        #expect(breaker.window?.calls == 3)  // same window: kept
        breaker.config.window = .time(seconds: 30)
        #expect(breaker.window == SlidingWindow(.time(seconds: 30)))
        breaker.config.policy = .consecutive
        #expect(breaker.window == nil && breaker.failureCount == 3)
    }
}
