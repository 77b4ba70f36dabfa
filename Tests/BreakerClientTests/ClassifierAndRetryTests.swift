import BreakerCore
import BreakerClient
import BreakerTestSupport
import Testing

struct NotFound: Error {}

extension BreakerClientTests {
    @Suite struct Classification {
        @Test func cancellationNeverCountsAsAFailure() async throws {
            try await withDaemonAndClient(cacheMs: 60_000) { daemon, client in
                try daemon.configure("db", #"{"failure_threshold":2}"#)
                let db = client.breaker("db")
                for _ in 0..<5 { await #expect(throws: CancellationError.self) { try await db.run { throw CancellationError() } } }
                await #expect(throws: DependencyDown.self) { try await db.run { throw DependencyDown() } }
                #expect(await client.flush(timeout: patience))
                let view = try daemon.inspect("db")
                #expect(view["metrics"]?["total_calls"] == .int(1))
                #expect(view["state"] == .string("closed"))
            }
        }

        @Test func theCallersClassifierDecidesWhatIsAFailure() async throws {
            try await withDaemonAndClient(cacheMs: 60_000) { daemon, client in
                let db = client.breaker("db", classifier: .failures(where: { $0 is DependencyDown }))
                for _ in 0..<3 { await #expect(throws: NotFound.self) { try await db.run { throw NotFound() } } }
                await #expect(throws: DependencyDown.self) { try await db.run { throw DependencyDown() } }
                #expect(await client.flush(timeout: patience))
                let metrics = try daemon.inspect("db")["metrics"]
                #expect(metrics?["successful_calls"] == .int(3))
                #expect(metrics?["failed_calls"] == .int(1))
            }
        }

        @Test func slowCallsCountAsFailuresWhenAsked() async throws {
            // The call's duration is read on the client's clock: a manual one makes "slow" exact.
            let clock = ManualClock()
            try await withDaemonAndClient(cacheMs: 60_000, { $0.clock = .manual(clock) }) { daemon, client in
                let db = client.breaker("db", classifier: OutcomeClassifier.default.countingSlowCalls(over: .milliseconds(5)))
                try await db.run { clock.advance(by: .milliseconds(6)) }
                try await db.run { clock.advance(by: .milliseconds(5)) }  // at the threshold: not slow
                #expect(await client.flush(timeout: patience))
                let metrics = try daemon.inspect("db")["metrics"]
                #expect(metrics?["failed_calls"] == .int(1))
                #expect(metrics?["successful_calls"] == .int(1))
            }
        }

        @Test func runRetryingNeverRetriesABreakerRejection() async throws {
            let client = try await BreakerClient(configuration: testConfiguration(port: try await unusedPort(), fallback: .failClosed))
            try await withCleanup({
                var calls = 0
                await #expect(throws: BreakerOpenError.self) {
                    try await client.breaker("db").run(retrying: RetryPolicy(maxAttempts: 5, initialDelay: .milliseconds(1))) {
                        calls += 1
                    }
                }
                #expect(calls == 0)
                #expect(client.statistics.fallbackDecisions == 1, "asked once, not five times")
            }, cleanup: { await client.shutdown() })
        }

        @Test func runRetryingRetriesFailuresThroughTheBreaker() async throws {
            try await withDaemonAndClient(cacheMs: 60_000) { daemon, client in
                let db = client.breaker("db")
                var calls = 0
                let value = try await db.run(retrying: RetryPolicy(maxAttempts: 3, initialDelay: .milliseconds(1))) {
                    calls += 1
                    if calls < 3 { throw DependencyDown() }
                    return 42
                }
                #expect(value == 42 && calls == 3)
                #expect(await client.flush(timeout: patience))
                let metrics = try daemon.inspect("db")["metrics"]
                #expect(metrics?["failed_calls"] == .int(2) && metrics?["successful_calls"] == .int(1))
            }
        }
    }
}

/// The retry helper on its own: no daemon involved.
@Suite struct RetryPolicyTests {
    @Test func delayCeilingsDoubleUpToTheMaximum() {
        let policy = RetryPolicy(maxAttempts: 10, initialDelay: .milliseconds(100), maxDelay: .milliseconds(1000))
        #expect((1...6).map { policy.delayCeiling(beforeRetry: $0) } == [100, 200, 400, 800, 1000, 1000].map { .milliseconds($0) })
    }

    @Test func delaysAreFullJitterBelowTheCeiling() {
        let policy = RetryPolicy(initialDelay: .milliseconds(100), maxDelay: .seconds(1))
        var generator = SystemRandomNumberGenerator()
        for retry in 1...8 {
            let ceiling = policy.delayCeiling(beforeRetry: retry)
            // A loop, not `map`: a closure capturing the zero-sized generator `inout` makes
            // ThreadSanitizer's exclusivity hook touch an address it has no shadow for (SEGV).
            var delays: [Duration] = []
            for _ in 0..<200 { delays.append(policy.delay(beforeRetry: retry, using: &generator)) }
            #expect(delays.allSatisfy { $0 >= .zero && $0 <= ceiling })
            #expect(delays.contains { $0 < ceiling / 2 } && delays.contains { $0 > ceiling / 2 }, "spread over the whole range")
        }
    }

    @Test func stopsAfterMaxAttemptsAndRethrowsTheLastError() async {
        var calls = 0
        await #expect(throws: DependencyDown.self) {
            try await RetryPolicy(maxAttempts: 4, initialDelay: .microseconds(100)).run {
                calls += 1
                throw DependencyDown()
            }
        }
        #expect(calls == 4)
    }

    @Test func retriesOnlyWhatTheClassifierCountsAsFailure() async {
        let policy = RetryPolicy(maxAttempts: 5, initialDelay: .microseconds(100), classifier: .failures(where: { $0 is DependencyDown }))
        for error in [NotFound() as any Error, CancellationError(), BreakerOpenError(name: "db", state: .open, retryAfter: nil, source: .daemon)] {
            var calls = 0
            await #expect(throws: (any Error).self) {
                try await policy.run {
                    calls += 1
                    throw error
                }
            }
            #expect(calls == 1, "\(error) is not retried")
        }
    }
}
