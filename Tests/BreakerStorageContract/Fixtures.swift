import BreakerCore
import BreakerStore

/// Values the contract and each implementation's own tests share.
public func at(_ milliseconds: Int64) -> Timestamp {
    Timestamp(millisecondsSinceEpoch: 1_750_000_000_000 + milliseconds)
}

public func transition(_ from: BreakerState, _ to: BreakerState, generation: UInt64, at time: Int64,
                reason: TransitionReason) -> Transition {
    Transition(from: from, to: to, generation: generation, at: at(time), reason: reason)
}

/// One breaker in each state, with every optional field both set and unset somewhere, counters
/// at their extremes, and names that would break any SQL built by interpolation.
public func breakersInEveryState() -> [StoredBreaker] {
    let closed = CircuitBreaker(
        config: BreakerConfig(failureThreshold: 3, successThreshold: 1, timeoutMs: 5_000,
                              halfOpenMaxCalls: 2, halfOpenPermitTimeoutMs: 1_000),
        state: .closed, generation: 7, failureCount: 2, successCount: 0, openUntil: nil,
        metrics: BreakerMetrics(totalCalls: 10, successfulCalls: 8, failedCalls: 2, rejectedCalls: 0,
                                transitions: [:], lastFailureTime: nil, lastStateChange: at(0)))
    let open = CircuitBreaker(
        config: .default, state: .open, generation: 12, failureCount: 5, successCount: 0,
        openUntil: at(61_000),
        metrics: BreakerMetrics(
            totalCalls: 40, successfulCalls: 30, failedCalls: 10, rejectedCalls: 17,
            transitions: [
                TransitionKind(from: .closed, to: .open): 3, TransitionKind(from: .open, to: .halfOpen): 2,
                TransitionKind(from: .halfOpen, to: .open): 1, TransitionKind(from: .halfOpen, to: .closed): 1,
                TransitionKind(from: .open, to: .closed): 0,
            ],
            lastFailureTime: at(1_000), lastStateChange: at(1_000)),
        lastTransition: LastTransition(from: .halfOpen, reason: .halfOpenFailure))
    let halfOpen = CircuitBreaker(
        config: BreakerConfig(failureThreshold: 1_000_000, successThreshold: 1_000_000, timeoutMs: 2_592_000_000,
                              halfOpenMaxCalls: 10_000, halfOpenPermitTimeoutMs: 86_400_000),
        state: .halfOpen, generation: .max, failureCount: 0, successCount: 999_999, openUntil: nil,
        metrics: BreakerMetrics(totalCalls: .max, successfulCalls: .max - 1, failedCalls: 1, rejectedCalls: .max,
                                transitions: [TransitionKind(from: .open, to: .halfOpen): .max],
                                lastFailureTime: at(-5), lastStateChange: at(2_000)),
        lastTransition: LastTransition(from: .open, reason: .timeoutElapsed))
    var live = CircuitBreaker(createdAt: at(0))
    for step in 1...5 { _ = live.record(.failure, at: at(Int64(step))) }
    return [
        StoredBreaker(name: "payments-api", breaker: closed),
        StoredBreaker(name: "o'brien\"; DROP TABLE breakers; --", breaker: open),
        StoredBreaker(name: "paiements-été ⚡️", breaker: halfOpen),
        StoredBreaker(name: "tripped-by-records", breaker: live),
    ].sorted { $0.name < $1.name }
}
