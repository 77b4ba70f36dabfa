import Testing
@testable import BreakerCore

/// The `rate` policy and the slow-call rule: windows, minimum calls, thresholds, boundaries.
@Suite struct RatePolicyTests {
    private func rateConfig(_ window: WindowSpec, minimumCalls: Int, threshold: Int) -> BreakerConfig {
        BreakerConfig(policy: .rate, window: window, failureRateThreshold: threshold, minimumCalls: minimumCalls)
    }

    @Test func defaultConfigKeepsNoWindowAndTripsOnConsecutiveFailuresAsBefore() {
        #expect(BreakerConfig.default.policy == .consecutive && BreakerConfig.default.mode == .normal)
        #expect(!BreakerConfig.default.needsWindow)
        var breaker = CircuitBreaker(createdAt: t0)
        _ = breaker.record(.failure, count: 4, durationMs: 99_999, reporter: "a", at: t0 + 1)
        #expect(breaker.window == nil)
        #expect(breaker.record(.failure, at: t0 + 2).transitions
            == [Transition(from: .closed, to: .open, generation: 2, at: t0 + 2, reason: .failureThreshold)])
    }

    @Test func fortyPercentFailuresNeverTripConsecutiveButTripRateOnceMinimumCallsAreIn() {
        let pattern: [Outcome] = [.failure, .failure, .success, .success, .success]
        var consecutive = CircuitBreaker(createdAt: t0)
        var rate = CircuitBreaker(config: rateConfig(.count(size: 100), minimumCalls: 20, threshold: 40), createdAt: t0)
        var trippedAt: Int?
        for call in 1...100 {
            let outcome = pattern[(call - 1) % pattern.count]
            _ = consecutive.record(outcome, at: t0 + Int64(call))
            let result = rate.record(outcome, at: t0 + Int64(call))
            if trippedAt == nil, !result.transitions.isEmpty {
                trippedAt = call
                #expect(result.transitions
                    == [Transition(from: .closed, to: .open, generation: 2, at: t0 + Int64(call), reason: .failureRate)])
            }
        }
        #expect(consecutive.state == .closed)
        #expect(trippedAt == 20)  // 8 of 20 = 40%, the first moment the window holds minimum_calls
    }

    @Test func noTripOnOneFailureOfOneNorBeforeExactlyMinimumCalls() {
        var breaker = CircuitBreaker(config: rateConfig(.count(size: 10), minimumCalls: 5, threshold: 50), createdAt: t0)
        for i in 1...4 {
            #expect(breaker.record(.failure, at: t0 + Int64(i)) == RecordResult(stale: false, transitions: []))
        }
        #expect(breaker.window?.failureRate == 100)
        #expect(breaker.record(.failure, at: t0 + 5) == RecordResult(stale: false, transitions: [
            Transition(from: .closed, to: .open, generation: 2, at: t0 + 5, reason: .failureRate),
        ]))
    }

    @Test func aRateExactlyAtTheThresholdTripsAndJustBelowDoesNot() {
        // 9 calls with 3 failures, never two in a row; the 10th decides: 4 of 10 = 40%.
        let first9: [Outcome] = [.success, .failure, .success, .failure, .success, .failure, .success, .success, .success]
        for (threshold, trips) in [(40, true), (41, false)] {
            var breaker = CircuitBreaker(config: rateConfig(.count(size: 10), minimumCalls: 10, threshold: threshold), createdAt: t0)
            for (i, outcome) in first9.enumerated() { _ = breaker.record(outcome, at: t0 + Int64(i)) }
            #expect(breaker.state == .closed)
            let result = breaker.record(.failure, at: t0 + 10)
            #expect(result.transitions == (trips
                ? [Transition(from: .closed, to: .open, generation: 2, at: t0 + 10, reason: .failureRate)] : []))
        }
    }

    @Test func aCountWindowForgetsItsOldestCalls() {
        var breaker = CircuitBreaker(config: rateConfig(.count(size: 4), minimumCalls: 4, threshold: 75), createdAt: t0)
        var rates: [Double?] = []
        for (i, outcome) in [Outcome.failure, .failure, .success, .success, .success, .failure].enumerated() {
            _ = breaker.record(outcome, at: t0 + Int64(i))
            rates.append(breaker.window?.failureRate)
        }
        #expect(rates == [100, 100, 66.66666666666667, 50, 25, 25])  // F F S S | S F: the two old failures left
        #expect(breaker.state == .closed)
        _ = breaker.record(.failure, at: t0 + 10)
        let result = breaker.record(.failure, at: t0 + 11)  // S F F F: 75%
        #expect(result.transitions == [Transition(from: .closed, to: .open, generation: 2, at: t0 + 11, reason: .failureRate)])
    }

    @Test func aRecordOfMoreCallsThanTheCountWindowFillsIt() {
        var breaker = CircuitBreaker(config: rateConfig(.count(size: 10), minimumCalls: 10, threshold: 100), createdAt: t0)
        _ = breaker.record(.failure, count: 3, at: t0)
        _ = breaker.record(.success, count: 1_000_000, at: t0 + 1)
        #expect(breaker.window?.calls == 10)
        #expect(breaker.window?.failures == 0)
    }

    @Test func timeWindowBucketsRollOverAtWholeSeconds() {
        let config = rateConfig(.time(seconds: 10), minimumCalls: 4, threshold: 50)
        // t0 is on a second boundary: the window at t0 + 9_999 still covers second 0; at t0 + 10_000 it does not.
        var inside = CircuitBreaker(config: config, createdAt: t0)
        _ = inside.record(.failure, count: 3, at: t0)
        #expect(inside.record(.success, at: t0 + 9_999).transitions
            == [Transition(from: .closed, to: .open, generation: 2, at: t0 + 9_999, reason: .failureRate)])

        var outside = CircuitBreaker(config: config, createdAt: t0)
        _ = outside.record(.failure, count: 3, at: t0 + 999)
        _ = outside.advance(to: t0 + 10_000)
        #expect(outside.window?.calls == 0)
        #expect(outside.window?.failureRate == nil)
        #expect(outside.record(.success, at: t0 + 10_000) == RecordResult(stale: false, transitions: []))
        #expect(outside.window?.failureRate == 0)
    }

    @Test func timeWindowDropsOnlyTheSecondsThatLeft() {
        var breaker = CircuitBreaker(config: rateConfig(.time(seconds: 3), minimumCalls: 100, threshold: 50), createdAt: t0)
        _ = breaker.record(.failure, count: 2, at: t0)           // second 0
        _ = breaker.record(.success, count: 3, at: t0 + 1_500)   // second 1
        _ = breaker.record(.failure, count: 5, at: t0 + 2_100)   // second 2
        #expect(breaker.window.map { [$0.calls, $0.failures] } == [10, 7])
        _ = breaker.advance(to: t0 + 3_000)                      // second 0 leaves
        #expect(breaker.window.map { [$0.calls, $0.failures] } == [8, 5])
        _ = breaker.advance(to: t0 + 4_999)                      // second 1 leaves
        #expect(breaker.window.map { [$0.calls, $0.failures] } == [5, 5])
        _ = breaker.advance(to: t0 + 60_000)                     // long idle: all gone
        #expect(breaker.window.map { [$0.calls, $0.failures] } == [0, 0])
    }

    @Test func closingAgainStartsAnEmptyWindow() throws {
        var config = rateConfig(.count(size: 10), minimumCalls: 2, threshold: 50)
        config.successThreshold = 1
        var breaker = CircuitBreaker(config: config, createdAt: t0)
        _ = breaker.record(.failure, count: 2, at: t0)
        #expect(breaker.state == .open)
        let permit = try takePermit(&breaker, at: t0 + 60_000)
        _ = breaker.record(.success, token: .permit(permit), at: t0 + 60_001)
        #expect(breaker.state == .closed)
        #expect(breaker.window == SlidingWindow(.count(size: 10)))
    }

    // MARK: Slow calls

    @Test func slowCallsTripAtTheSlowRateCountingCallsAtLeastTheDurationAsSlow() {
        let config = BreakerConfig(window: .count(size: 10), minimumCalls: 4, slowCallDurationMs: 2_000, slowCallRateThreshold: 50)
        var breaker = CircuitBreaker(config: config, createdAt: t0)
        _ = breaker.record(.success, durationMs: 9_000, at: t0 + 1)
        _ = breaker.record(.success, durationMs: 1_999, at: t0 + 2)
        _ = breaker.record(.success, at: t0 + 3)  // no duration: not slow
        #expect(breaker.window.map { [$0.calls, $0.slowCalls] } == [3, 1])
        let result = breaker.record(.success, durationMs: 2_000, at: t0 + 4)  // exactly the duration: slow; 2 of 4
        #expect(result.transitions == [Transition(from: .closed, to: .open, generation: 2, at: t0 + 4, reason: .slowCallRate)])
    }

    @Test func slowFailuresCountAsBothAndTheFailureRuleWinsTheReason() {
        let config = BreakerConfig(policy: .rate, window: .count(size: 4), failureRateThreshold: 50, minimumCalls: 2,
                                   slowCallDurationMs: 100, slowCallRateThreshold: 50)
        var breaker = CircuitBreaker(config: config, createdAt: t0)
        _ = breaker.record(.success, at: t0)
        let result = breaker.record(.failure, durationMs: 500, at: t0 + 1)
        #expect(result.transitions == [Transition(from: .closed, to: .open, generation: 2, at: t0 + 1, reason: .failureRate)])
    }
}
