import Testing
@testable import BreakerCore

/// Generations: every state change starts one, outcomes from earlier ones are stale,
/// and a breaker restored from storage keeps its generation but none of its permits.
@Suite struct GenerationTests {
    @Test func everyTransitionStartsANewGeneration() throws {
        var breaker = CircuitBreaker(createdAt: t0)
        var log: [Transition] = []
        log += breaker.record(.failure, count: 5, at: t0).transitions                        // gen 2
        let trial = t0 + 60_000
        let first = breaker.shouldAttempt(at: trial)                                         // gen 3
        log += first.transitions
        let firstPermit = try #require(first.decision.permit)
        log += breaker.record(.failure, token: .permit(firstPermit), at: trial + 1).transitions  // gen 4
        let retrial = trial + 1 + 60_000
        let second = breaker.shouldAttempt(at: retrial)                                      // gen 5
        log += second.transitions
        let secondPermit = try #require(second.decision.permit)
        log += breaker.record(.success, token: .permit(secondPermit), at: retrial + 1).transitions
        let third = try takePermit(&breaker, at: retrial + 2)
        log += breaker.record(.success, token: .permit(third), at: retrial + 3).transitions  // gen 6
        let quietReset = breaker.reset(at: retrial + 4)                                     // gen 7, no transition
        #expect(quietReset.advanced == [] && quietReset.reset == nil)
        log += breaker.record(.failure, count: 5, at: retrial + 5).transitions              // gen 8
        log += breaker.reset(at: retrial + 6).reset.map { [$0] } ?? []                      // gen 9
        #expect(log == [
            Transition(from: .closed, to: .open, generation: 2, at: t0, reason: .failureThreshold),
            Transition(from: .open, to: .halfOpen, generation: 3, at: trial, reason: .timeoutElapsed),
            Transition(from: .halfOpen, to: .open, generation: 4, at: trial + 1, reason: .halfOpenFailure),
            Transition(from: .open, to: .halfOpen, generation: 5, at: retrial, reason: .timeoutElapsed),
            Transition(from: .halfOpen, to: .closed, generation: 6, at: retrial + 3, reason: .successThreshold),
            Transition(from: .closed, to: .open, generation: 8, at: retrial + 5, reason: .failureThreshold),
            Transition(from: .open, to: .closed, generation: 9, at: retrial + 6, reason: .reset),
        ])
        #expect(breaker.generation == 9)
    }

    @Test func staleFailureFromEarlierGenerationDoesNotTrip() throws {
        let config = BreakerConfig(failureThreshold: 1, successThreshold: 1)
        var breaker = CircuitBreaker(config: config, createdAt: t0)
        #expect(breaker.shouldAttempt(at: t0).decision == .allow)
        let slowCaller = breaker.generation  // 1
        // Meanwhile the breaker trips and recovers: CLOSED again, in generation 4.
        _ = breaker.record(.failure, at: t0 + 1)
        let permit = try takePermit(&breaker, at: t0 + 60_001)
        _ = breaker.record(.success, token: .permit(permit), at: t0 + 60_002)
        try #require(breaker.state == .closed && breaker.generation == 4)
        let now = t0 + 60_003
        #expect(breaker.record(.failure, token: .generation(slowCaller), at: now)
            == RecordResult(stale: true, transitions: []))
        #expect(breaker.state == .closed && breaker.failureCount == 0)
        #expect(breaker.metrics.failedCalls == 2)
        #expect(breaker.record(.failure, token: .generation(4), at: now).transitions
            == [Transition(from: .closed, to: .open, generation: 5, at: now, reason: .failureThreshold)])
    }

    @Test func staleSuccessFromEarlierGenerationDoesNotResetFailureCount() throws {
        let config = BreakerConfig(failureThreshold: 3, successThreshold: 1)
        var breaker = CircuitBreaker(config: config, createdAt: t0)
        let slowCaller = breaker.generation  // 1
        _ = breaker.record(.failure, count: 3, at: t0 + 1)
        let permit = try takePermit(&breaker, at: t0 + 60_001)
        _ = breaker.record(.success, token: .permit(permit), at: t0 + 60_002)
        let current = breaker.generation  // 4, CLOSED
        _ = breaker.record(.failure, count: 2, token: .generation(current), at: t0 + 60_003)
        #expect(breaker.record(.success, token: .generation(slowCaller), at: t0 + 60_004).stale)
        #expect(breaker.failureCount == 2)
        #expect(breaker.record(.failure, token: .generation(current), at: t0 + 60_005).transitions.count == 1)
        #expect(breaker.state == .open)
    }

    @Test func staleSuccessFromEarlierGenerationDoesNotClose() throws {
        var (breaker, edge) = try halfOpenBreaker(BreakerConfig(successThreshold: 1))
        let old = try takePermit(&breaker, at: edge)  // generation 3, never reported in time
        let expiry = edge + 30_000
        let current = try takePermit(&breaker, at: expiry + 60_000)  // expired, reopened, half-open again
        #expect(current.generation == 5)
        let now = expiry + 61_000
        #expect(breaker.record(.success, token: .permit(old), at: now) == RecordResult(stale: true, transitions: []))
        #expect(breaker.state == .halfOpen && breaker.generation == 5 && breaker.successCount == 0)
        #expect(breaker.permits == [current: expiry + 90_000])
    }

    // MARK: Restore

    @Test func restoringStoredFieldsGivesBackTheSameBreaker() throws {
        let open = try trippedBreaker()
        #expect(open.afterRestart == open)
        var closed = CircuitBreaker(createdAt: t0)
        _ = closed.record(.failure, count: 3, at: t0 + 5)
        #expect(closed.afterRestart == closed)
    }

    @Test func restoredBreakerHasNoPermits() throws {
        var (breaker, edge) = try halfOpenBreaker(BreakerConfig(halfOpenMaxCalls: 2))
        _ = try takePermit(&breaker, at: edge)
        _ = try takePermit(&breaker, at: edge)
        var restored = breaker.afterRestart
        #expect(restored.observed == Observed(
            config: BreakerConfig(halfOpenMaxCalls: 2), state: .halfOpen, generation: 3, permits: [:],
            metrics: breaker.metrics))
        #expect(restored.nextDeadline == nil)
        #expect(restored.advance(to: edge + 1_000_000) == [])  // nothing left to expire
        let now = edge + 1_000_000
        #expect(restored.shouldAttempt(at: now).decision.permit != nil)
        #expect(restored.shouldAttempt(at: now).decision.permit != nil)
        #expect(restored.shouldAttempt(at: now).decision == .reject(retryAfterMs: 30_000))
    }

    /// After a restart the core hands out `Permit(generation: g, sequence: 0)` again, so a permit
    /// value alone cannot tell old from new: the wire layer fences them with a per-boot epoch and
    /// reports a pre-restart permit as `.expiredPermit`. That token is counted and never current.
    @Test func permitGrantedBeforeRestartIsStaleAfterIt() throws {
        var (breaker, edge) = try halfOpenBreaker(BreakerConfig(successThreshold: 1))
        _ = try takePermit(&breaker, at: edge)
        var restored = breaker.afterRestart
        let afterRestart = try takePermit(&restored, at: edge + 1_000)
        for outcome in [Outcome.failure, .success] {
            #expect(restored.record(outcome, token: .expiredPermit, at: edge + 2_000)
                == RecordResult(stale: true, transitions: []))
        }
        #expect(restored.state == .halfOpen && restored.generation == 3)
        #expect(restored.permits == [afterRestart: edge + 31_000])
        #expect(restored.metrics.totalCalls == breaker.metrics.totalCalls + 2)
        // Nor does it count in CLOSED.
        var closed = CircuitBreaker(config: BreakerConfig(failureThreshold: 1), createdAt: t0)
        #expect(closed.record(.failure, token: .expiredPermit, at: t0 + 1) == RecordResult(stale: true, transitions: []))
        #expect(closed.state == .closed)
    }

    @Test func restoredBreakerPastDeadlineGoesHalfOpenAtOriginalDeadline() throws {
        let openedAt = t0 + 1_000
        let deadline = openedAt + 60_000
        var restored = CircuitBreaker.restored(
            config: BreakerConfig(timeoutMs: 5_000),  // re-configured while down: the deadline stays
            state: .open, generation: 7, failureCount: 5, openUntil: deadline,
            metrics: metrics(total: 5, failed: 5, transitions: [.closedToOpen: 1], lastFailure: openedAt, lastChange: openedAt))
        #expect(restored.nextDeadline == deadline)
        let now = deadline + 3 * 3_600_000  // restarted three hours later
        let result = restored.shouldAttempt(at: now)
        #expect(result.transitions == [
            Transition(from: .open, to: .halfOpen, generation: 8, at: deadline, reason: .timeoutElapsed),
        ])
        #expect(result.decision.permit?.generation == 8)
        #expect(restored.metrics.lastStateChange == deadline)
    }

    @Test func restoredOpenBreakerWithoutStoredDeadlineWaitsTimeoutFromWhenItOpened() {
        let openedAt = t0 + 1_000
        var restored = CircuitBreaker.restored(
            state: .open, generation: 2, failureCount: 5, openUntil: nil,
            metrics: metrics(total: 5, failed: 5, transitions: [.closedToOpen: 1], lastFailure: openedAt, lastChange: openedAt))
        #expect(restored.openUntil == openedAt + 60_000)
        #expect(restored.shouldAttempt(at: openedAt + 1_000)
            == AttemptResult(decision: .reject(retryAfterMs: 59_000), transitions: []))
    }
}
