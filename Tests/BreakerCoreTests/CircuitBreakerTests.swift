import Testing
@testable import BreakerCore

/// CLOSED and OPEN, time-driven transitions, reset, and the "at once" race in its pure form.
@Suite struct CircuitBreakerTests {
    // MARK: CLOSED

    @Test func newBreakerIsClosedAndAllowsEveryCall() {
        var breaker = CircuitBreaker(createdAt: t0)
        #expect(breaker == .restored(state: .closed, generation: 1, metrics: metrics()))
        var now = t0
        for _ in 0..<10 {
            now = now + 1_000
            #expect(breaker.shouldAttempt(at: now) == AttemptResult(decision: .allow, transitions: []))
        }
        #expect(breaker == .restored(state: .closed, generation: 1, metrics: metrics()))
        #expect(breaker.nextDeadline == nil)
    }

    @Test func successResetsTheConsecutiveFailureCount() {
        var breaker = CircuitBreaker(createdAt: t0)
        var now = t0
        for _ in 0..<4 {
            now = now + 1_000
            #expect(breaker.record(.failure, at: now) == RecordResult(stale: false, transitions: []))
        }
        let lastFailure = now
        now = now + 1_000
        #expect(breaker.record(.success, at: now) == RecordResult(stale: false, transitions: []))
        #expect(breaker == .restored(state: .closed, generation: 1, failureCount: 0,
                                     metrics: metrics(total: 5, successful: 1, failed: 4, lastFailure: lastFailure)))
        // Four more failures are four, not eight: still CLOSED.
        for _ in 0..<4 {
            now = now + 1_000
            _ = breaker.record(.failure, at: now)
        }
        #expect(breaker.state == .closed)
        #expect(breaker.failureCount == 4)
    }

    @Test func reachingFailureThresholdOpensTheBreaker() {
        var breaker = CircuitBreaker(createdAt: t0)
        var now = t0
        for _ in 0..<4 {
            now = now + 1_000
            _ = breaker.record(.failure, token: .generation(1), at: now)
        }
        now = now + 1_000
        let result = breaker.record(.failure, token: .generation(1), at: now)
        #expect(result == RecordResult(stale: false, transitions: [
            Transition(from: .closed, to: .open, generation: 2, at: now, reason: .failureThreshold),
        ]))
        #expect(breaker == .restored(
            state: .open, generation: 2, failureCount: 5, openUntil: now + 60_000,
            metrics: metrics(total: 5, failed: 5, transitions: [.closedToOpen: 1], lastFailure: now, lastChange: now),
            last: LastTransition(from: .closed, reason: .failureThreshold)))
    }

    // MARK: OPEN

    @Test func retryAfterCountsDownToDeadline() throws {
        var breaker = try trippedBreaker()
        let deadline = t0 + 60_000
        for (elapsed, retryAfter) in [(0, 60_000), (1, 59_999), (30_000, 30_000), (59_999, 1)] as [(Int64, Int64)] {
            #expect(breaker.shouldAttempt(at: t0 + elapsed)
                == AttemptResult(decision: .reject(retryAfterMs: retryAfter), transitions: []))
        }
        #expect(breaker.metrics.rejectedCalls == 4)
        // Asking again exactly `retryAfterMs` later is allowed.
        let atDeadline = breaker.shouldAttempt(at: deadline)
        #expect(atDeadline.decision.permit?.generation == 3)
        #expect(atDeadline.transitions == [
            Transition(from: .open, to: .halfOpen, generation: 3, at: deadline, reason: .timeoutElapsed),
        ])
        #expect(breaker.metrics.rejectedCalls == 4)
    }

    @Test func outcomesWhileOpenCountInMetricsButNeverMoveState() throws {
        var breaker = try trippedBreaker()
        let now = t0 + 10_000
        let late: [(Outcome, Int, OutcomeToken)] = [
            (.success, 1, .none), (.success, 1, .generation(2)), (.failure, 1, .none),
            (.failure, 1, .generation(1)), (.failure, 1, .generation(2)),
            (.failure, 1, .permit(Permit(generation: 2, sequence: 0))), (.failure, 50, .none),
        ]
        for (outcome, count, token) in late {
            #expect(breaker.record(outcome, count: count, token: token, at: now)
                == RecordResult(stale: true, transitions: []))
        }
        #expect(breaker == .restored(
            state: .open, generation: 2, failureCount: 5, openUntil: t0 + 60_000,
            metrics: metrics(total: 5 + 56, successful: 2, failed: 5 + 54, transitions: [.closedToOpen: 1],
                             lastFailure: now, lastChange: t0),
            last: LastTransition(from: .closed, reason: .failureThreshold)))
    }

    @Test func lateFailureWhileOpenDoesNotPushDeadline() throws {
        var breaker = try trippedBreaker()
        let deadline = t0 + 60_000
        #expect(breaker.record(.failure, at: deadline - 1) == RecordResult(stale: true, transitions: []))
        #expect(breaker.openUntil == deadline)
        #expect(breaker.nextDeadline == deadline)
        #expect(breaker.shouldAttempt(at: deadline).decision.isAllowed)
        #expect(breaker.state == .halfOpen)
    }

    // MARK: Effective state

    @Test func advanceAppliesTransitionAtTheDeadlineNotNow() throws {
        var breaker = try trippedBreaker()
        let deadline = t0 + 60_000
        #expect(breaker.advance(to: deadline - 1) == [])
        let lookedAt = deadline + 12_345
        #expect(breaker.advance(to: lookedAt) == [
            Transition(from: .open, to: .halfOpen, generation: 3, at: deadline, reason: .timeoutElapsed),
        ])
        #expect(breaker.advance(to: lookedAt) == [])
        #expect(breaker == .restored(
            state: .halfOpen, generation: 3,
            metrics: metrics(total: 5, failed: 5, transitions: [.closedToOpen: 1, .openToHalfOpen: 1],
                             lastFailure: t0, lastChange: deadline),
            last: LastTransition(from: .open, reason: .timeoutElapsed)))
    }

    @Test func effectiveStateDoesNotDependOnWhenAnyoneLooked() throws {
        var watched = try trippedBreaker()
        let trialAt = t0 + 60_000
        _ = try takePermit(&watched, at: trialAt)  // never reported: expires at trialAt + 30 s
        var unwatched = watched
        var seen: [Transition] = []
        var now = trialAt
        while now < trialAt + 200_000 {
            now = now + 7_000
            seen += watched.advance(to: now)
        }
        let once = unwatched.advance(to: now)
        #expect(seen == once)
        #expect(watched == unwatched)
    }

    @Test func chainedExpiryEndsHalfOpenWithTransitionsInOrder() throws {
        var breaker = try trippedBreaker()
        let trialAt = t0 + 60_000
        let permit = try takePermit(&breaker, at: trialAt)
        let expiry = trialAt + 30_000
        let reopenedUntil = expiry + 60_000
        // Nobody looks for a long time: the permit expired, the breaker reopened, and that deadline passed too.
        let now = reopenedUntil + 45_000
        let result = breaker.shouldAttempt(at: now)
        #expect(result.transitions == [
            Transition(from: .halfOpen, to: .open, generation: 4, at: expiry, reason: .permitExpired),
            Transition(from: .open, to: .halfOpen, generation: 5, at: reopenedUntil, reason: .timeoutElapsed),
        ])
        let fresh = try #require(result.decision.permit)
        #expect(fresh.generation == 5 && fresh != permit)
        #expect(breaker.observed == Observed(
            state: .halfOpen, generation: 5, permits: [fresh: now + 30_000],
            metrics: metrics(total: 6, failed: 6,
                             transitions: [.closedToOpen: 1, .openToHalfOpen: 2, .halfOpenToOpen: 1],
                             lastFailure: expiry, lastChange: reopenedUntil)))
    }

    @Test func nextDeadlineIsOpenDeadlineOrEarliestPermitExpiry() throws {
        var breaker = CircuitBreaker(config: BreakerConfig(halfOpenMaxCalls: 2), createdAt: t0)
        #expect(breaker.nextDeadline == nil)
        _ = breaker.record(.failure, count: 5, at: t0)
        #expect(breaker.nextDeadline == t0 + 60_000)
        _ = breaker.advance(to: t0 + 60_000)
        #expect(breaker.nextDeadline == nil)  // HALF_OPEN with no trial out: time alone changes nothing
        _ = try takePermit(&breaker, at: t0 + 61_000)
        _ = try takePermit(&breaker, at: t0 + 62_000)
        #expect(breaker.nextDeadline == t0 + 91_000)
    }

    // MARK: Races, in their pure form

    @Test func hundredFailuresAtOnceMakeOneTransition() {
        var breaker = CircuitBreaker(createdAt: t0)
        let now = t0 + 5_000
        // 100 callers were all allowed in generation 1 and all report a failure at the same instant.
        let results = (0..<100).map { _ in breaker.record(.failure, token: .generation(1), at: now) }
        let opened = Transition(from: .closed, to: .open, generation: 2, at: now, reason: .failureThreshold)
        #expect(results.flatMap(\.transitions) == [opened])
        #expect(results[4] == RecordResult(stale: false, transitions: [opened]))
        #expect(results.filter(\.stale).count == 95)
        #expect(breaker == .restored(
            state: .open, generation: 2, failureCount: 5, openUntil: now + 60_000,
            metrics: metrics(total: 100, failed: 100, transitions: [.closedToOpen: 1], lastFailure: now, lastChange: now),
            last: LastTransition(from: .closed, reason: .failureThreshold)))
    }

    @Test(arguments: [(0, 5), (0, 100), (4, 1), (4, 100), (2, 1_000_000), (0, Int.max)])
    func failuresReportedInOneRecordMakeOneTransition(earlier: Int, count: Int) {
        var breaker = CircuitBreaker(createdAt: t0)
        if earlier > 0 { _ = breaker.record(.failure, count: earlier, at: t0) }
        let now = t0 + 1_000
        let result = breaker.record(.failure, count: count, at: now)
        #expect(result == RecordResult(stale: false, transitions: [
            Transition(from: .closed, to: .open, generation: 2, at: now, reason: .failureThreshold),
        ]))
        #expect(breaker.state == .open)
        #expect(breaker.openUntil == now + 60_000)
        #expect(breaker.metrics.failedCalls == UInt64(earlier) + UInt64(count))
        #expect(breaker.metrics.transitions == [.closedToOpen: 1])
    }

    /// `count` as large as `record` accepts, after an earlier failure: "however large k is", and no
    /// input may trap (an overflowing `failureCount + count` once did). Run in a child process so a
    /// trap cannot take the test runner down. (The wire caps count at 1_000_000.)
    @Test func hugeFailureCountAfterEarlierFailuresMakesOneTransition() async {
        await #expect(processExitsWith: .success) {
            var breaker = CircuitBreaker(createdAt: t0)
            _ = breaker.record(.failure, at: t0)
            let result = breaker.record(.failure, count: .max, at: t0 + 1)
            precondition(result.transitions.count == 1 && breaker.state == .open)
        }
    }

    // MARK: Reset

    @Test func resetFromOpenClosesZeroesCountsAndKeepsMetrics() throws {
        var breaker = try trippedBreaker()
        _ = breaker.shouldAttempt(at: t0 + 1_000)  // one rejection, kept through the reset
        let now = t0 + 2_000
        let (advanced, reset) = breaker.reset(at: now)
        #expect(advanced == [])
        #expect(reset == Transition(from: .open, to: .closed, generation: 3, at: now, reason: .reset))
        #expect(breaker == .restored(
            state: .closed, generation: 3,
            metrics: metrics(total: 5, failed: 5, rejected: 1, transitions: [.closedToOpen: 1, .openToClosed: 1],
                             lastFailure: t0, lastChange: now),
            last: LastTransition(from: .open, reason: .reset)))
    }

    @Test func resetFromHalfOpenReleasesPermits() throws {
        var (breaker, edge) = try halfOpenBreaker()
        let permit = try takePermit(&breaker, at: edge)
        let (_, reset) = breaker.reset(at: edge + 1_000)
        #expect(reset == Transition(from: .halfOpen, to: .closed, generation: 4, at: edge + 1_000, reason: .reset))
        #expect(breaker.permits.isEmpty)
        #expect(breaker.metrics.transitions[.halfOpenToClosed] == 1)
        #expect(breaker.record(.failure, token: .permit(permit), at: edge + 2_000).stale)
        #expect(breaker.failureCount == 0)
    }

    @Test func resetWhenAlreadyClosedMakesNoTransitionButMovesGeneration() {
        var breaker = CircuitBreaker(createdAt: t0)
        _ = breaker.record(.failure, count: 3, at: t0 + 1_000)
        let (advanced, reset) = breaker.reset(at: t0 + 2_000)
        #expect(advanced == [])
        #expect(reset == nil)
        let expected = CircuitBreaker.restored(
            state: .closed, generation: 2, failureCount: 0,
            metrics: metrics(total: 3, failed: 3, lastFailure: t0 + 1_000, lastChange: t0))
        #expect(breaker == expected)
        // A failure from a decision made before the reset no longer counts towards the threshold.
        #expect(breaker.record(.failure, count: 5, token: .generation(1), at: t0 + 3_000).stale)
        #expect(breaker.state == .closed && breaker.failureCount == 0)
    }

    @Test func resetReportsDueTimeTransitionsBeforeItsOwn() throws {
        var breaker = try trippedBreaker()
        let now = t0 + 90_000
        let (advanced, reset) = breaker.reset(at: now)
        #expect(advanced == [
            Transition(from: .open, to: .halfOpen, generation: 3, at: t0 + 60_000, reason: .timeoutElapsed),
        ])
        #expect(reset == Transition(from: .halfOpen, to: .closed, generation: 4, at: now, reason: .reset))
    }
}
