/// The states of a circuit breaker: the three of the classic pattern, plus an operator's override.
public enum BreakerState: String, Sendable, Hashable, CaseIterable {
    case closed
    case open
    case halfOpen = "half_open"
    /// Opened by an operator (maintenance window): rejects everything until released; time and
    /// outcomes do not move it.
    case forcedOpen = "forced_open"

    /// The name used on the wire, in storage and in metrics labels.
    public var wireName: String { rawValue }

    public init?(wireName: String) { self.init(rawValue: wireName) }
}

/// Why a breaker changed state; reported to watchers and kept in the transition log.
public enum TransitionReason: String, Sendable, Hashable, CaseIterable {
    case failureThreshold = "failure_threshold"
    /// `rate` policy: the failure rate over the window reached `failure_rate_threshold`.
    case failureRate = "failure_rate"
    /// The slow-call rate over the window reached `slow_call_rate_threshold`.
    case slowCallRate = "slow_call_rate"
    case timeoutElapsed = "timeout_elapsed"
    case halfOpenFailure = "half_open_failure"
    case successThreshold = "success_threshold"
    case permitExpired = "permit_expired"
    case reset
    case forcedOpen = "forced_open"
    case released

    public var wireName: String { rawValue }
}

/// A breaker's most recent state change, as much of it as is not already the breaker's own:
/// where it came from and why. Where it went is the breaker's `state` and when is its
/// `metrics.lastStateChange` (every transition sets both, and nothing else changes them).
public struct LastTransition: Sendable, Hashable {
    public var from: BreakerState
    public var reason: TransitionReason

    public init(from: BreakerState, reason: TransitionReason) {
        self.from = from
        self.reason = reason
    }
}

/// One state change. `generation` is the breaker's generation after the change.
public struct Transition: Sendable, Hashable {
    public var from: BreakerState
    public var to: BreakerState
    public var generation: UInt64
    public var at: Timestamp
    public var reason: TransitionReason

    public init(from: BreakerState, to: BreakerState, generation: UInt64, at: Timestamp, reason: TransitionReason) {
        self.from = from
        self.to = to
        self.generation = generation
        self.at = at
        self.reason = reason
    }
}

/// A pair of states, the key of the per-breaker transition counters (`closed_to_open`, …).
public struct TransitionKind: Sendable, Hashable, Comparable {
    public var from: BreakerState
    public var to: BreakerState

    public init(from: BreakerState, to: BreakerState) {
        self.from = from
        self.to = to
    }

    /// Every kind the state machine can produce, in a stable order for reports.
    public static let all: [TransitionKind] = [
        .init(from: .closed, to: .open),
        .init(from: .open, to: .halfOpen),
        .init(from: .halfOpen, to: .closed),
        .init(from: .halfOpen, to: .open),
        .init(from: .open, to: .closed),
        .init(from: .closed, to: .forcedOpen),
        .init(from: .open, to: .forcedOpen),
        .init(from: .halfOpen, to: .forcedOpen),
        .init(from: .forcedOpen, to: .closed),
    ]

    /// `closed_to_open`, `open_to_half_open`, …
    public var key: String { "\(from.wireName)_to_\(to.wireName)" }

    public init?(key: String) {
        guard let kind = TransitionKind.all.first(where: { $0.key == key }) else { return nil }
        self = kind
    }

    public static func < (lhs: TransitionKind, rhs: TransitionKind) -> Bool {
        (all.firstIndex(of: lhs) ?? .max) < (all.firstIndex(of: rhs) ?? .max)
    }
}
