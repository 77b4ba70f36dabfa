import Testing
@testable import BreakerCore

/// Per-breaker counters, and the small value types they are reported with.
@Suite struct MetricsTests {
    @Test func everyRecordedOutcomeIsCounted() {
        var breaker = CircuitBreaker(createdAt: t0)
        _ = breaker.record(.success, count: 3, at: t0 + 1)
        _ = breaker.record(.failure, count: 2, at: t0 + 2)
        _ = breaker.record(.success, token: .generation(99), at: t0 + 3)  // stale: counted all the same
        _ = breaker.record(.failure, token: .permit(Permit(generation: 1, sequence: 0)), at: t0 + 4)  // stale too
        _ = breaker.record(.success, at: t0 + 5)
        #expect(breaker.metrics == metrics(total: 8, successful: 5, failed: 3, lastFailure: t0 + 4))
        #expect(breaker.failureCount == 0)
    }

    @Test func onlyRefusalsCountAsRejectedCalls() throws {
        var breaker = CircuitBreaker(createdAt: t0)
        for i in 0..<10 { _ = breaker.shouldAttempt(at: t0 + Int64(i)) }
        #expect(breaker.metrics.rejectedCalls == 0)
        _ = breaker.record(.failure, count: 5, at: t0 + 10)
        for i in 0..<3 { _ = breaker.shouldAttempt(at: t0 + 11 + Int64(i)) }
        #expect(breaker.metrics.rejectedCalls == 3)
        _ = try takePermit(&breaker, at: t0 + 60_010)
        _ = breaker.shouldAttempt(at: t0 + 60_011)
        _ = breaker.shouldAttempt(at: t0 + 60_012)
        #expect(breaker.metrics.rejectedCalls == 5)
        #expect(breaker.metrics.totalCalls == 5)  // rejections are not calls made
    }

    @Test func transitionsAreCountedPerKind() throws {
        var breaker = CircuitBreaker(createdAt: t0)
        _ = breaker.record(.failure, count: 5, at: t0)                              // closed -> open
        var now = t0 + 60_000
        let p1 = try takePermit(&breaker, at: now)                                    // open -> half_open
        _ = breaker.record(.failure, token: .permit(p1), at: now)                     // half_open -> open
        now = now + 60_000
        let p2 = try takePermit(&breaker, at: now)                                    // open -> half_open
        _ = breaker.record(.success, token: .permit(p2), at: now + 1)
        let p3 = try takePermit(&breaker, at: now + 2)
        _ = breaker.record(.success, token: .permit(p3), at: now + 3)                 // half_open -> closed
        _ = breaker.record(.failure, count: 5, at: now + 4)                           // closed -> open
        _ = breaker.reset(at: now + 5)                                                // open -> closed
        _ = breaker.record(.failure, count: 5, at: now + 6)                           // closed -> open
        _ = breaker.advance(to: now + 6 + 60_000)                                     // open -> half_open
        let last = now + 6 + 60_001
        _ = breaker.reset(at: last)                                                   // half_open -> closed
        _ = breaker.reset(at: last + 1)                                               // already closed: none

        #expect(breaker.metrics.transitions == [
            .closedToOpen: 3, .openToHalfOpen: 3, .halfOpenToClosed: 2, .halfOpenToOpen: 1, .openToClosed: 1,
        ])
        let counts = breaker.metrics.transitionCounts
        #expect(counts.map(\.kind) == TransitionKind.all)
        #expect(counts.allSatisfy { $0.count == breaker.metrics.transitions[$0.kind, default: 0] })
        #expect(breaker.metrics.totalTransitions == 10)
        #expect(breaker.metrics.lastStateChange == last)
    }

    @Test func freshMetricsReportEveryKindAtZero() {
        let fresh = BreakerMetrics(createdAt: t0)
        #expect(fresh == metrics())
        #expect(fresh.transitionCounts.map(\.kind) == TransitionKind.all)
        #expect(fresh.transitionCounts.allSatisfy { $0.count == 0 })
        #expect(fresh.totalTransitions == 0)
    }

    @Test func wireNamesAreStable() {
        let states: [(BreakerState, String)] = [(.closed, "closed"), (.open, "open"), (.halfOpen, "half_open")]
        #expect(states.map { $0.0.wireName } == states.map(\.1))
        #expect(states.map { BreakerState(wireName: $0.1) } == states.map(\.0))
        #expect(BreakerState(wireName: "halfOpen") == nil)
        let reasons: [(TransitionReason, String)] = [
            (.failureThreshold, "failure_threshold"), (.timeoutElapsed, "timeout_elapsed"),
            (.halfOpenFailure, "half_open_failure"), (.successThreshold, "success_threshold"),
            (.permitExpired, "permit_expired"), (.reset, "reset"),
        ]
        #expect(reasons.map { $0.0.wireName } == reasons.map(\.1))
        // The classic kinds lead the report order; any added later come after them.
        let classic: [TransitionKind] = [.closedToOpen, .openToHalfOpen, .halfOpenToClosed, .halfOpenToOpen, .openToClosed]
        #expect(TransitionKind.all.starts(with: classic))
        #expect(classic.map(\.key) == [
            "closed_to_open", "open_to_half_open", "half_open_to_closed", "half_open_to_open", "open_to_closed",
        ])
        #expect(TransitionKind.all.allSatisfy { TransitionKind(key: $0.key) == $0 })
        #expect(TransitionKind(key: "closed_to_half_open") == nil)
        #expect(TransitionKind.all.sorted(by: >).sorted() == TransitionKind.all)
    }

    @Test func timestampArithmeticSaturatesAndNeverGoesNegative() {
        #expect(t0 + 1_500 == Timestamp(millisecondsSinceEpoch: 1_700_000_001_500))
        #expect(Timestamp(millisecondsSinceEpoch: .max - 1).adding(milliseconds: 10) == Timestamp(millisecondsSinceEpoch: .max))
        #expect(t0.milliseconds(until: t0 + 250) == 250)
        #expect(t0.milliseconds(until: t0) == 0)
        #expect((t0 + 250).milliseconds(until: t0) == 0)
        #expect(t0 < t0 + 1)
        #expect(t0.description == "1700000000000ms")
    }

    @Test func decisionsSayWhetherTheCallMayGoAhead() {
        #expect(Decision.allow.isAllowed)
        #expect(Decision.allowTrial(Permit(generation: 3, sequence: 0)).isAllowed)
        #expect(!Decision.reject(retryAfterMs: 10).isAllowed)
    }
}
