import Testing
@testable import BreakerCore

// Shared fixtures for the BreakerCore tests. Time is a hand-advanced `Timestamp`: no test sleeps.

/// The instant every test starts at.
let t0 = Timestamp(millisecondsSinceEpoch: 1_700_000_000_000)

extension Timestamp {
    /// `self` moved on by `milliseconds` (the mock clock's only operation).
    static func + (lhs: Timestamp, milliseconds: Int64) -> Timestamp {
        lhs.adding(milliseconds: milliseconds)
    }

    static func - (lhs: Timestamp, milliseconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: lhs.millisecondsSinceEpoch - milliseconds)
    }
}

extension TransitionKind {
    static let closedToOpen = TransitionKind(from: .closed, to: .open)
    static let openToHalfOpen = TransitionKind(from: .open, to: .halfOpen)
    static let halfOpenToClosed = TransitionKind(from: .halfOpen, to: .closed)
    static let halfOpenToOpen = TransitionKind(from: .halfOpen, to: .open)
    static let openToClosed = TransitionKind(from: .open, to: .closed)
}

extension Decision {
    /// The permit of an `allowTrial`, nil otherwise.
    var permit: Permit? {
        if case .allowTrial(let permit) = self { return permit }
        return nil
    }
}

/// A breaker's state-machine fields, as one comparable value. `CircuitBreaker` itself also compares
/// its private permit counter, so two breakers that granted a different number of permits in the
/// past are never `==`; tests that went through HALF_OPEN compare this projection instead.
struct Observed: Hashable, CustomStringConvertible {
    var config: BreakerConfig = .default
    var state: BreakerState
    var generation: UInt64
    var failureCount = 0
    var successCount = 0
    var openUntil: Timestamp? = nil
    var permits: [Permit: Timestamp] = [:]
    var metrics: BreakerMetrics

    var description: String {
        "\(state) gen=\(generation) failures=\(failureCount) successes=\(successCount) "
            + "openUntil=\(openUntil.map(String.init(describing:)) ?? "nil") permits=\(permits) metrics=\(metrics)"
    }
}

extension CircuitBreaker {
    var observed: Observed {
        Observed(config: config, state: state, generation: generation, failureCount: failureCount,
                 successCount: successCount, openUntil: openUntil, permits: permits, metrics: metrics)
    }

    /// A breaker as restored from storage (the same fields the server persists).
    static func restored(
        config: BreakerConfig = .default, state: BreakerState, generation: UInt64,
        failureCount: Int = 0, successCount: Int = 0, openUntil: Timestamp? = nil, metrics: BreakerMetrics,
        last: LastTransition? = nil
    ) -> CircuitBreaker {
        CircuitBreaker(config: config, state: state, generation: generation, failureCount: failureCount,
                       successCount: successCount, openUntil: openUntil, metrics: metrics, lastTransition: last)
    }

    /// This breaker's stored fields loaded back, as after a restart.
    var afterRestart: CircuitBreaker {
        CircuitBreaker(config: config, state: state, generation: generation, failureCount: failureCount,
                       successCount: successCount, openUntil: openUntil, metrics: metrics, lastTransition: lastTransition)
    }
}

/// Metrics with every counter named; defaults are a fresh breaker created at `t0`.
func metrics(
    total: UInt64 = 0, successful: UInt64 = 0, failed: UInt64 = 0, rejected: UInt64 = 0,
    transitions: [TransitionKind: UInt64] = [:], lastFailure: Timestamp? = nil, lastChange: Timestamp = t0
) -> BreakerMetrics {
    BreakerMetrics(totalCalls: total, successfulCalls: successful, failedCalls: failed, rejectedCalls: rejected,
                   transitions: transitions, lastFailureTime: lastFailure, lastStateChange: lastChange)
}

/// A breaker created at `t0` and tripped at `openedAt` by one record of `failureThreshold`
/// failures: OPEN, generation 2, deadline `openedAt + timeoutMs`.
func trippedBreaker(_ config: BreakerConfig = .default, openedAt: Timestamp = t0) throws -> CircuitBreaker {
    var breaker = CircuitBreaker(config: config, createdAt: t0)
    _ = breaker.record(.failure, count: config.failureThreshold, at: openedAt)
    try #require(breaker.state == .open, "fixture did not trip")
    return breaker
}

/// A breaker tripped at `t0` and advanced to its deadline: HALF_OPEN, generation 3, no permits.
/// Returns the breaker and the instant it went HALF_OPEN.
func halfOpenBreaker(_ config: BreakerConfig = .default) throws -> (CircuitBreaker, Timestamp) {
    var breaker = try trippedBreaker(config)
    let edge = t0 + config.timeoutMs
    _ = breaker.advance(to: edge)
    try #require(breaker.state == .halfOpen, "fixture did not go half-open")
    return (breaker, edge)
}

/// Takes one half-open trial permit; the test stops with an issue if none is granted.
func takePermit(_ breaker: inout CircuitBreaker, at now: Timestamp) throws -> Permit {
    try #require(breaker.shouldAttempt(at: now).decision.permit, "expected a trial permit")
}
