import Testing
@testable import BreakerCore

/// Quorum of reporters, open-duration backoff, and the metrics_only / disabled modes.
@Suite struct QuorumBackoffModeTests {
    // MARK: Quorum

    @Test func oneClientFailingAloneCannotTripARateBreakerWithAQuorumOfTwo() {
        let config = BreakerConfig(policy: .rate, window: .count(size: 100), failureRateThreshold: 20, minimumCalls: 10,
                                   minReporters: 2)
        var breaker = CircuitBreaker(config: config, createdAt: t0)
        var now = t0
        for _ in 0..<10 {
            now = now + 1
            _ = breaker.record(.failure, reporter: "orders-1", at: now)
            _ = breaker.record(.success, reporter: "orders-2", at: now)
            _ = breaker.record(.success, reporter: "orders-3", at: now)
        }
        #expect(breaker.state == .closed)
        #expect(breaker.window?.failureRate == 100.0 / 3)
        #expect(breaker.window?.reporters == ["orders-1"])
        let result = breaker.record(.failure, reporter: "orders-2", at: now + 1)
        #expect(result.transitions == [Transition(from: .closed, to: .open, generation: 2, at: now + 1, reason: .failureRate)])
        #expect(breaker.window?.reporters == ["orders-1", "orders-2"])  // kept while OPEN: who tripped it
    }

    @Test func quorumGatesTheConsecutiveRuleToo() {
        var breaker = CircuitBreaker(config: BreakerConfig(failureThreshold: 3, minReporters: 2), createdAt: t0)
        _ = breaker.record(.failure, count: 10, reporter: "a", at: t0)
        #expect(breaker.state == .closed && breaker.failureCount == 3)
        #expect(breaker.record(.failure, reporter: "b", at: t0 + 1).transitions
            == [Transition(from: .closed, to: .open, generation: 2, at: t0 + 1, reason: .failureThreshold)])
    }

    @Test func reportersLeaveWithTheirCalls() {
        let config = BreakerConfig(policy: .rate, window: .time(seconds: 5), failureRateThreshold: 100, minimumCalls: 1_000,
                                   minReporters: 2)
        var breaker = CircuitBreaker(config: config, createdAt: t0)
        _ = breaker.record(.failure, reporter: "a", at: t0)
        _ = breaker.record(.failure, reporter: "b", at: t0 + 3_000)
        _ = breaker.record(.success, reporter: "c", at: t0 + 3_000)
        #expect(breaker.window?.reporters == ["a", "b"])
        _ = breaker.advance(to: t0 + 5_000)
        #expect(breaker.window?.reporters == ["b"])
        // In a count window a reporter leaves when its last bad call is pushed out.
        var counted = CircuitBreaker(config: BreakerConfig(window: .count(size: 3), minimumCalls: 3, minReporters: 2), createdAt: t0)
        _ = counted.record(.failure, reporter: "a", at: t0)
        _ = counted.record(.success, count: 2, reporter: "b", at: t0)
        #expect(counted.window?.reporters == ["a"])
        _ = counted.record(.success, reporter: "b", at: t0)
        #expect(counted.window?.reporters == [])
    }

    @Test func distinctReportersAreCappedPerWindow() {
        var window = SlidingWindow(.count(size: 10_000))
        for i in 0..<(SlidingWindow.maxReporters + 50) {
            window.record(failed: true, slow: false, count: 1, reporter: "r\(i)", at: t0)
        }
        #expect(window.reporterCount == SlidingWindow.maxReporters)
        #expect(window.failures == SlidingWindow.maxReporters + 50)
    }

    // MARK: Backoff

    @Test func eachReopenFromHalfOpenWaitsLongerUpToTheMaxAndClosingResetsIt() throws {
        let config = BreakerConfig(successThreshold: 1, timeoutMs: 1_000, timeoutBackoff: TimeoutBackoff(multiplier: 2, maxMs: 5_000))
        var breaker = try trippedBreaker(config)
        var openFor: [Int64] = [breaker.openUntil!.millisecondsSinceEpoch - t0.millisecondsSinceEpoch]
        var now = t0
        for _ in 0..<4 {
            now = breaker.openUntil!
            let permit = try takePermit(&breaker, at: now)
            _ = breaker.record(.failure, token: .permit(permit), at: now + 10)
            openFor.append(breaker.openUntil!.millisecondsSinceEpoch - (now + 10).millisecondsSinceEpoch)
        }
        #expect(openFor == [1_000, 2_000, 4_000, 5_000, 5_000])
        #expect(breaker.reopenCount == 4)
        #expect(breaker.afterRestartKeepingReopens.reopenCount == 4)
        now = breaker.openUntil!
        let permit = try takePermit(&breaker, at: now)
        _ = breaker.record(.success, token: .permit(permit), at: now + 1)
        #expect(breaker.state == .closed && breaker.reopenCount == 0)
        _ = breaker.record(.failure, count: 5, at: now + 2)
        #expect(breaker.openUntil == now + 2 + 1_000)
    }

    @Test func expiredTrialsCountAsReopensForTheBackoff() throws {
        let config = BreakerConfig(timeoutMs: 1_000, halfOpenPermitTimeoutMs: 100, timeoutBackoff: TimeoutBackoff(multiplier: 3, maxMs: 60_000))
        var breaker = try trippedBreaker(config)
        _ = try takePermit(&breaker, at: t0 + 1_000)
        _ = breaker.advance(to: t0 + 1_100)
        #expect(breaker.state == .open && breaker.openUntil == t0 + 1_100 + 3_000)
    }

    // MARK: Modes

    @Test func metricsOnlyRunsTheStateMachineButNeverRejects() throws {
        var breaker = CircuitBreaker(config: BreakerConfig(failureThreshold: 2, timeoutMs: 1_000, mode: .metricsOnly), createdAt: t0)
        #expect(breaker.record(.failure, count: 2, at: t0).transitions
            == [Transition(from: .closed, to: .open, generation: 2, at: t0, reason: .failureThreshold)])
        #expect(breaker.shouldAttempt(at: t0 + 500) == AttemptResult(decision: .allow, transitions: []))
        let atDeadline = breaker.shouldAttempt(at: t0 + 1_000)
        #expect(atDeadline.decision.permit != nil)  // trials are still handed out so it can close
        #expect(atDeadline.transitions == [Transition(from: .open, to: .halfOpen, generation: 3, at: t0 + 1_000, reason: .timeoutElapsed)])
        #expect(breaker.shouldAttempt(at: t0 + 1_001) == AttemptResult(decision: .allow, transitions: []))  // slots full
        #expect(breaker.state == .halfOpen)
        #expect(breaker.metrics.rejectedCalls == 0)
    }

    @Test(arguments: [BreakerMode.metricsOnly, .disabled])
    func aForcedOpenRejectsInEveryMode(_ mode: BreakerMode) {
        var breaker = CircuitBreaker(config: BreakerConfig(mode: mode), createdAt: t0)
        _ = breaker.forceOpen(ForcedOpen(reason: "maintenance", actor: "alice", at: t0))
        #expect(breaker.shouldAttempt(at: t0 + 1)
            == AttemptResult(decision: .reject(retryAfterMs: CircuitBreaker.forcedRetryAfterMs), transitions: []))
        #expect(breaker.metrics.rejectedCalls == 1)
        _ = breaker.release(at: t0 + 2)
        #expect(breaker.shouldAttempt(at: t0 + 3) == AttemptResult(decision: .allow, transitions: []))
    }

    @Test func disabledAllowsEverythingAndCountsNothing() {
        var breaker = CircuitBreaker(config: BreakerConfig(failureThreshold: 1, mode: .disabled), createdAt: t0)
        #expect(breaker.record(.failure, count: 100, at: t0 + 1) == RecordResult(stale: false, transitions: []))
        #expect(breaker.shouldAttempt(at: t0 + 2) == AttemptResult(decision: .allow, transitions: []))
        #expect(breaker == .restored(config: breaker.config, state: .closed, generation: 1, metrics: metrics()))
    }
}

extension CircuitBreaker {
    /// As `afterRestart`, with the backoff streak the store keeps.
    var afterRestartKeepingReopens: CircuitBreaker {
        CircuitBreaker(config: config, state: state, generation: generation, failureCount: failureCount,
                       successCount: successCount, openUntil: openUntil, metrics: metrics, reopenCount: reopenCount)
    }
}
