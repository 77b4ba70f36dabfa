import BreakerCore

/// Named starting points for a breaker's config, from the seed design's tuning table. Only
/// the thresholds and the open timeout differ; the half-open settings keep their defaults.
enum BreakerPreset: String, CaseIterable, Sendable {
    case database
    case messageBroker = "message-broker"
    case internalAPI = "internal-api"
    case externalAPI = "external-api"

    var config: BreakerConfig {
        switch self {
        case .database: BreakerConfig(failureThreshold: 5, successThreshold: 2, timeoutMs: 30_000)
        case .messageBroker: BreakerConfig(failureThreshold: 3, successThreshold: 2, timeoutMs: 20_000)
        case .internalAPI: BreakerConfig(failureThreshold: 5, successThreshold: 3, timeoutMs: 60_000)
        case .externalAPI: BreakerConfig(failureThreshold: 10, successThreshold: 5, timeoutMs: 120_000)
        }
    }

    static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}
