import BreakerCore

/// Named starting points for a breaker's config, from the seed design's tuning table. Only
/// the thresholds and the open timeout differ; the half-open settings keep their defaults.
enum BreakerPreset: String, CaseIterable, Sendable {
    case database
    case messageBroker = "message-broker"
    case internalAPI = "internal-api"
    case externalAPI = "external-api"
    case databaseRate = "database-rate"
    case messageBrokerRate = "message-broker-rate"
    case internalAPIRate = "internal-api-rate"
    case externalAPIRate = "external-api-rate"

    var config: BreakerConfig {
        switch self {
        case .database: BreakerConfig(failureThreshold: 5, successThreshold: 2, timeoutMs: 30_000)
        case .messageBroker: BreakerConfig(failureThreshold: 3, successThreshold: 2, timeoutMs: 20_000)
        case .internalAPI: BreakerConfig(failureThreshold: 5, successThreshold: 3, timeoutMs: 60_000)
        case .externalAPI: BreakerConfig(failureThreshold: 10, successThreshold: 5, timeoutMs: 120_000)
        // Rate variants (README, "Choosing a policy"); keep in step with breakerctl's `Preset`.
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

    static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
