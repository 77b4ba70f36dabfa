import ArgumentParser
import BreakerCore

/// The seed's tuning table, by kind of dependency.
enum Preset: String, CaseIterable, ExpressibleByArgument {
    case database
    case messageBroker = "message-broker"
    case internalAPI = "internal-api"
    case externalAPI = "external-api"

    var patch: BreakerConfigPatch {
        switch self {
        case .database: BreakerConfigPatch(failureThreshold: 5, successThreshold: 2, timeoutMs: 30_000)
        case .messageBroker: BreakerConfigPatch(failureThreshold: 3, successThreshold: 2, timeoutMs: 20_000)
        case .internalAPI: BreakerConfigPatch(failureThreshold: 5, successThreshold: 3, timeoutMs: 60_000)
        case .externalAPI: BreakerConfigPatch(failureThreshold: 10, successThreshold: 5, timeoutMs: 120_000)
        }
    }
}
