/// Counters kept per breaker. They only ever grow (a reset keeps them), so they can be exported
/// as monotonic counters.
public struct BreakerMetrics: Sendable, Hashable {
    /// Recorded outcomes, successes plus failures (stale ones included).
    public var totalCalls: UInt64 = 0
    public var successfulCalls: UInt64 = 0
    public var failedCalls: UInt64 = 0
    /// `should-attempt` answers that said no.
    public var rejectedCalls: UInt64 = 0
    public var transitions: [TransitionKind: UInt64] = [:]
    public var lastFailureTime: Timestamp?
    public var lastStateChange: Timestamp

    public init(createdAt: Timestamp) {
        self.lastStateChange = createdAt
    }

    public init(
        totalCalls: UInt64, successfulCalls: UInt64, failedCalls: UInt64, rejectedCalls: UInt64,
        transitions: [TransitionKind: UInt64], lastFailureTime: Timestamp?, lastStateChange: Timestamp
    ) {
        self.totalCalls = totalCalls
        self.successfulCalls = successfulCalls
        self.failedCalls = failedCalls
        self.rejectedCalls = rejectedCalls
        self.transitions = transitions
        self.lastFailureTime = lastFailureTime
        self.lastStateChange = lastStateChange
    }

    /// All transition counters including zeros, in `TransitionKind.all` order.
    public var transitionCounts: [(kind: TransitionKind, count: UInt64)] {
        TransitionKind.all.map { ($0, transitions[$0, default: 0]) }
    }

    /// The sum of all transition counters.
    public var totalTransitions: UInt64 { transitions.values.reduce(0, &+) }

    mutating func count(_ outcome: Outcome, times: Int, at now: Timestamp) {
        let n = UInt64(times)
        totalCalls &+= n
        switch outcome {
        case .success: successfulCalls &+= n
        case .failure:
            failedCalls &+= n
            lastFailureTime = now
        }
    }

    mutating func count(_ transition: Transition) {
        transitions[TransitionKind(from: transition.from, to: transition.to), default: 0] &+= 1
        lastStateChange = transition.at
    }
}
