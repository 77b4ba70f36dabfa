import Testing
@testable import BreakerCore

/// One configuration field, so the range checks can be run over all five.
enum ConfigField: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case failureThreshold = "failure_threshold"
    case successThreshold = "success_threshold"
    case timeoutMs = "timeout_ms"
    case halfOpenMaxCalls = "half_open_max_calls"
    case halfOpenPermitTimeoutMs = "half_open_permit_timeout_ms"

    var testDescription: String { rawValue }

    var limits: ClosedRange<Int64> {
        switch self {
        case .failureThreshold, .successThreshold:
            Int64(BreakerConfig.Limits.threshold.lowerBound)...Int64(BreakerConfig.Limits.threshold.upperBound)
        case .timeoutMs: BreakerConfig.Limits.timeoutMs
        case .halfOpenMaxCalls:
            Int64(BreakerConfig.Limits.halfOpenMaxCalls.lowerBound)...Int64(BreakerConfig.Limits.halfOpenMaxCalls.upperBound)
        case .halfOpenPermitTimeoutMs: BreakerConfig.Limits.permitTimeoutMs
        }
    }

    func setting(_ value: Int64, in config: BreakerConfig) -> BreakerConfig {
        var config = config
        switch self {
        case .failureThreshold: config.failureThreshold = Int(value)
        case .successThreshold: config.successThreshold = Int(value)
        case .timeoutMs: config.timeoutMs = value
        case .halfOpenMaxCalls: config.halfOpenMaxCalls = Int(value)
        case .halfOpenPermitTimeoutMs: config.halfOpenPermitTimeoutMs = value
        }
        return config
    }
}

@Suite struct ConfigTests {
    @Test func defaultConfigFollowsTheSeedDesign() throws {
        #expect(BreakerConfig.default == BreakerConfig(
            failureThreshold: 5, successThreshold: 2, timeoutMs: 60_000, halfOpenMaxCalls: 1,
            halfOpenPermitTimeoutMs: 30_000))
        #expect(BreakerConfig() == .default)
        try BreakerConfig.default.validate()
    }

    @Test(arguments: ConfigField.allCases)
    func validationAcceptsLimitsAndRejectsJustBeyond(field: ConfigField) throws {
        let range = field.limits
        try field.setting(range.lowerBound, in: .default).validate()
        try field.setting(range.upperBound, in: .default).validate()
        for bad in [range.lowerBound - 1, range.upperBound + 1] {
            let error = #expect(throws: ConfigError.self) { try field.setting(bad, in: .default).validate() }
            #expect(error == ConfigError(
                field: field.rawValue,
                message: "\(field.rawValue) must be between \(range.lowerBound) and \(range.upperBound), got \(bad)"))
        }
    }

    @Test func validationReportsTheFirstFieldOutOfRange() {
        let allBad = BreakerConfig(failureThreshold: 0, successThreshold: 0, timeoutMs: 0, halfOpenMaxCalls: 0,
                                   halfOpenPermitTimeoutMs: 0)
        #expect(throws: ConfigError.self) { try allBad.validate() }
        #expect(field(of: allBad) == "failure_threshold")
        let lastTwoBad = BreakerConfig(halfOpenMaxCalls: 0, halfOpenPermitTimeoutMs: 0)
        #expect(field(of: lastTwoBad) == "half_open_max_calls")
    }

    @Test func patchKeepsUnspecifiedFields() throws {
        let base = BreakerConfig(failureThreshold: 7, successThreshold: 3, timeoutMs: 10_000, halfOpenMaxCalls: 4,
                                 halfOpenPermitTimeoutMs: 2_000)
        #expect(try BreakerConfigPatch().applied(to: base) == base)
        #expect(try BreakerConfigPatch(timeoutMs: 90_000).applied(to: base) == BreakerConfig(
            failureThreshold: 7, successThreshold: 3, timeoutMs: 90_000, halfOpenMaxCalls: 4,
            halfOpenPermitTimeoutMs: 2_000))
        #expect(try BreakerConfigPatch(failureThreshold: 1, halfOpenPermitTimeoutMs: 5).applied(to: base)
            == BreakerConfig(failureThreshold: 1, successThreshold: 3, timeoutMs: 10_000, halfOpenMaxCalls: 4,
                             halfOpenPermitTimeoutMs: 5))
    }

    @Test func patchResultIsValidated() throws {
        let error = #expect(throws: ConfigError.self) {
            try BreakerConfigPatch(successThreshold: 3, halfOpenMaxCalls: 0).applied(to: .default)
        }
        #expect(error?.field == "half_open_max_calls")
        // The whole result is checked: a valid patch on an invalid base fails, a patch that fixes it passes.
        let invalidBase = BreakerConfig(timeoutMs: 0)
        #expect(throws: ConfigError.self) { try BreakerConfigPatch(failureThreshold: 3).applied(to: invalidBase) }
        #expect(try BreakerConfigPatch(timeoutMs: 1).applied(to: invalidBase) == BreakerConfig(timeoutMs: 1))
    }

    // MARK: Re-configuring a live breaker

    @Test func reconfigureKeepsStateAndCounts() throws {
        var closed = CircuitBreaker(createdAt: t0)
        _ = closed.record(.failure, count: 3, at: t0 + 1)
        let patched = try BreakerConfigPatch(failureThreshold: 10, timeoutMs: 1_000).applied(to: closed.config)
        closed.config = patched
        #expect(closed == .restored(config: patched, state: .closed, generation: 1, failureCount: 3,
                                    metrics: metrics(total: 3, failed: 3, lastFailure: t0 + 1)))

        var (halfOpen, edge) = try halfOpenBreaker(BreakerConfig(successThreshold: 3))
        let first = try takePermit(&halfOpen, at: edge)
        _ = halfOpen.record(.success, token: .permit(first), at: edge + 1)
        let second = try takePermit(&halfOpen, at: edge + 2)
        let before = halfOpen.observed
        halfOpen.config = try BreakerConfigPatch(successThreshold: 5, halfOpenPermitTimeoutMs: 1)
            .applied(to: halfOpen.config)
        var expected = before
        expected.config = halfOpen.config
        #expect(halfOpen.observed == expected)
        #expect(halfOpen.permits == [second: edge + 2 + 30_000])  // the permit keeps the expiry it was granted with
    }

    @Test func reconfiguringTimeoutDoesNotMoveTheOpenDeadline() throws {
        var breaker = try trippedBreaker()
        breaker.config = try BreakerConfigPatch(timeoutMs: 1_000).applied(to: breaker.config)
        #expect(breaker.openUntil == t0 + 60_000)
        #expect(breaker.shouldAttempt(at: t0 + 5_000)
            == AttemptResult(decision: .reject(retryAfterMs: 55_000), transitions: []))
        // The next opening uses the new timeout.
        let permit = try takePermit(&breaker, at: t0 + 60_000)
        let failedAt = t0 + 60_010
        _ = breaker.record(.failure, token: .permit(permit), at: failedAt)
        #expect(breaker.openUntil == failedAt + 1_000)
    }

    @Test func loweredFailureThresholdTripsOnTheNextFailure() {
        var breaker = CircuitBreaker(createdAt: t0)
        _ = breaker.record(.failure, count: 4, at: t0 + 1)
        breaker.config.failureThreshold = 2
        #expect(breaker.state == .closed && breaker.failureCount == 4)  // re-configuring moves nothing by itself
        #expect(breaker.record(.failure, at: t0 + 2).transitions
            == [Transition(from: .closed, to: .open, generation: 2, at: t0 + 2, reason: .failureThreshold)])
    }

    private func field(of config: BreakerConfig) -> String? {
        do {
            try config.validate()
            return nil
        } catch {
            return error.field
        }
    }
}
