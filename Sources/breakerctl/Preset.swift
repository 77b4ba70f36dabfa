import ArgumentParser
import BreakerCore

/// The seed's tuning table, by kind of dependency, and its rate-policy variants (README,
/// "Choosing a policy"): same recovery settings, tripping on a failure rate over a window.
enum Preset: String, CaseIterable, ExpressibleByArgument {
    case database
    case messageBroker = "message-broker"
    case internalAPI = "internal-api"
    case externalAPI = "external-api"
    case databaseRate = "database-rate"
    case messageBrokerRate = "message-broker-rate"
    case internalAPIRate = "internal-api-rate"
    case externalAPIRate = "external-api-rate"

    var patch: BreakerConfigPatch {
        switch self {
        case .database: BreakerConfigPatch(failureThreshold: 5, successThreshold: 2, timeoutMs: 30_000)
        case .messageBroker: BreakerConfigPatch(failureThreshold: 3, successThreshold: 2, timeoutMs: 20_000)
        case .internalAPI: BreakerConfigPatch(failureThreshold: 5, successThreshold: 3, timeoutMs: 60_000)
        case .externalAPI: BreakerConfigPatch(failureThreshold: 10, successThreshold: 5, timeoutMs: 120_000)
        case .databaseRate:
            BreakerConfigPatch(successThreshold: 2, timeoutMs: 30_000, policy: .rate, window: .count(size: 50),
                               failureRateThreshold: 50, minimumCalls: 20, slowCallDurationMs: 1_000, slowCallRateThreshold: 80)
        case .messageBrokerRate:
            BreakerConfigPatch(successThreshold: 2, timeoutMs: 20_000, policy: .rate, window: .count(size: 50),
                               failureRateThreshold: 50, minimumCalls: 10)
        case .internalAPIRate:
            BreakerConfigPatch(successThreshold: 3, timeoutMs: 60_000, policy: .rate, window: .time(seconds: 30),
                               failureRateThreshold: 50, minimumCalls: 20, slowCallDurationMs: 2_000, slowCallRateThreshold: 60)
        case .externalAPIRate:
            BreakerConfigPatch(successThreshold: 5, timeoutMs: 120_000, policy: .rate, window: .time(seconds: 60),
                               failureRateThreshold: 50, minimumCalls: 20, slowCallDurationMs: 5_000, slowCallRateThreshold: 50,
                               timeoutBackoff: TimeoutBackoff(multiplier: 2, maxMs: 600_000))
        }
    }
}
