/// Named starting points for a breaker's config: the seed design's tuning table by kind of
/// dependency, and rate-policy variants of each (README, "Choosing a policy"). One table, used
/// by the daemon's config file and by `breakerctl configure --preset`.
public enum BreakerPreset: String, CaseIterable, Sendable {
    case database
    case messageBroker = "message-broker"
    case internalAPI = "internal-api"
    case externalAPI = "external-api"
    case databaseRate = "database-rate"
    case messageBrokerRate = "message-broker-rate"
    case internalAPIRate = "internal-api-rate"
    case externalAPIRate = "external-api-rate"

    /// The whole configuration the preset stands for; what it does not name keeps the default.
    public var config: BreakerConfig {
        switch self {
        case .database: BreakerConfig(failureThreshold: 5, successThreshold: 2, timeoutMs: 30_000)
        case .messageBroker: BreakerConfig(failureThreshold: 3, successThreshold: 2, timeoutMs: 20_000)
        case .internalAPI: BreakerConfig(failureThreshold: 5, successThreshold: 3, timeoutMs: 60_000)
        case .externalAPI: BreakerConfig(failureThreshold: 10, successThreshold: 5, timeoutMs: 120_000)
        case .databaseRate:
            BreakerConfig(successThreshold: 2, timeoutMs: 30_000, policy: .rate, window: .count(size: 50),
                          failureRateThreshold: 50, minimumCalls: 20, slowCallDurationMs: 1_000, slowCallRateThreshold: 80)
        case .messageBrokerRate:
            BreakerConfig(successThreshold: 2, timeoutMs: 20_000, policy: .rate, window: .count(size: 50),
                          failureRateThreshold: 50, minimumCalls: 10)
        case .internalAPIRate:
            BreakerConfig(successThreshold: 3, timeoutMs: 60_000, policy: .rate, window: .time(seconds: 30),
                          failureRateThreshold: 50, minimumCalls: 20, slowCallDurationMs: 2_000, slowCallRateThreshold: 60)
        case .externalAPIRate:
            BreakerConfig(successThreshold: 5, timeoutMs: 120_000, policy: .rate, window: .time(seconds: 60),
                          failureRateThreshold: 50, minimumCalls: 20, slowCallDurationMs: 5_000, slowCallRateThreshold: 50,
                          timeoutBackoff: TimeoutBackoff(multiplier: 2, maxMs: 600_000))
        }
    }

    /// A patch that sets every tuning field to the preset's value, so applying a preset to an
    /// existing breaker gives exactly the preset (a rate breaker moved to `database` becomes
    /// consecutive). The mode is left alone: whether a breaker enforces is not a tuning choice.
    public var patch: BreakerConfigPatch {
        var patch = BreakerConfigPatch(setting: config)
        patch.mode = nil
        return patch
    }

    public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

extension BreakerConfigPatch {
    /// A patch that sets every field, including turning optional rules off.
    public init(setting c: BreakerConfig) {
        self.init(
            failureThreshold: c.failureThreshold, successThreshold: c.successThreshold, timeoutMs: c.timeoutMs,
            halfOpenMaxCalls: c.halfOpenMaxCalls, halfOpenPermitTimeoutMs: c.halfOpenPermitTimeoutMs,
            policy: c.policy, window: c.window, failureRateThreshold: c.failureRateThreshold,
            minimumCalls: c.minimumCalls, slowCallDurationMs: .some(c.slowCallDurationMs),
            slowCallRateThreshold: c.slowCallRateThreshold, timeoutBackoff: .some(c.timeoutBackoff),
            minReporters: .some(c.minReporters), mode: c.mode)
    }
}
