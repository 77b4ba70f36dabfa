extension BreakerConfig {
    /// Whether breakers with this config keep a `SlidingWindow`. Consecutive breakers without a
    /// slow-call rule or quorum keep none, so a million default breakers cost what they did.
    public var needsWindow: Bool { policy == .rate || slowCallDurationMs != nil || minReporters != nil }

    /// How long the breaker stays OPEN after `reopens` reopens in a row from HALF_OPEN.
    public func openDurationMs(afterReopens reopens: Int) -> Int64 {
        guard let backoff = timeoutBackoff, reopens > 0 else { return timeoutMs }
        var duration = Double(timeoutMs)
        for _ in 0..<reopens {
            duration *= backoff.multiplier
            if duration >= Double(backoff.maxMs) { return backoff.maxMs }
        }
        return Int64(duration)
    }

    /// Ranges of the policy fields, then the combinations that could never work.
    func validatePolicy() throws(ConfigError) {
        switch window {
        case .count(let size):
            guard Limits.countWindow.contains(size) else {
                throw ConfigError(field: "window", message: "window size must be between \(Limits.countWindow.lowerBound) and \(Limits.countWindow.upperBound) calls, got \(size)")
            }
        case .time(let seconds):
            guard Limits.timeWindowSeconds.contains(seconds) else {
                throw ConfigError(field: "window", message: "window seconds must be between \(Limits.timeWindowSeconds.lowerBound) and \(Limits.timeWindowSeconds.upperBound), got \(seconds)")
            }
        }
        try Self.check("failure_rate_threshold", failureRateThreshold, Limits.percent)
        try Self.check("minimum_calls", minimumCalls, Limits.minimumCalls)
        if let slowCallDurationMs { try Self.check("slow_call_duration_ms", slowCallDurationMs, Limits.slowCallDurationMs) }
        try Self.check("slow_call_rate_threshold", slowCallRateThreshold, Limits.percent)
        if let backoff = timeoutBackoff {
            guard backoff.multiplier.isFinite, Limits.backoffMultiplier.contains(backoff.multiplier) else {
                throw ConfigError(field: "timeout_backoff", message: "timeout_backoff.multiplier must be between 1 and 100, got \(backoff.multiplier)")
            }
            guard backoff.maxMs >= timeoutMs, backoff.maxMs <= Limits.timeoutMs.upperBound else {
                throw ConfigError(field: "timeout_backoff", message: "timeout_backoff.max_ms must be between timeout_ms (\(timeoutMs)) and \(Limits.timeoutMs.upperBound), got \(backoff.maxMs)")
            }
        }
        if let minReporters { try Self.check("min_reporters", minReporters, Limits.minReporters) }
        // Combinations: a window that can never hold enough calls (or reporters) never trips.
        if case .count(let size) = window, needsWindow {
            guard minimumCalls <= size else {
                throw ConfigError(field: "minimum_calls", message: "minimum_calls (\(minimumCalls)) is larger than the count window (\(size) calls): the rate could never be evaluated")
            }
            if let minReporters, minReporters > size {
                throw ConfigError(field: "min_reporters", message: "min_reporters (\(minReporters)) is larger than the count window (\(size) calls): the quorum could never be met")
            }
        }
    }
}
