import BreakerCore
import BreakerClient
import BreakerTestSupport
import BreakerWire
import Testing

extension BreakerClientTests {
    /// An attempt ended without an outcome: a half-open trial's permit goes back to the daemon
    /// (`return-permit`) instead of expiring into a failure; anything else reports nothing.
    @Suite struct Abandon {
        /// A breaker in half_open with room for one trial at a time, that trial's permit free.
        private func halfOpen(_ daemon: ClientTestDaemon, _ client: BreakerClient, _ name: String) async throws -> Breaker {
            try daemon.configure(name, #"{"failure_threshold":1,"timeout_ms":1,"half_open_max_calls":1,"half_open_permit_timeout_ms":600000}"#)
            let breaker = client.breaker(name)
            try await breaker.attempt().failed()
            #expect(await client.flush(timeout: patience))
            #expect(await eventually(within: patience) { (try? daemon.inspect(name)["state"]) == .string("half_open") })
            // And the client has heard it (the push of closed → open → half_open), so no cached
            // "open" from the failure's reply answers the next attempt.
            #expect(await eventually(within: patience) { client.statistics.pushedTransitions >= 2 })
            return breaker
        }

        /// What the daemon shows of the trial: state, permits held, failures and successes counted.
        private func trialView(_ daemon: ClientTestDaemon, _ name: String) throws -> [JSONValue?] {
            let view = try daemon.inspect(name)
            return [view["state"], view["half_open_in_flight"], view["metrics"]?["failed_calls"], view["metrics"]?["successful_calls"]]
        }

        @Test func aCancelledTrialHandsItsPermitBackAndCountsNothing() async throws {
            try await withDaemonAndClient(cacheMs: 60_000) { daemon, client in
                let api = try await halfOpen(daemon, client, "api")
                let (started, signal) = AsyncStream.makeStream(of: Void.self)
                let call = Task {
                    try await api.run {
                        signal.yield()
                        try await Task.sleep(for: .seconds(600))  // the slow call the caller gives up on
                    }
                }
                for await _ in started { break }
                #expect(try trialView(daemon, "api") == [.string("half_open"), .int(1), .int(1), .int(0)])
                call.cancel()
                await #expect(throws: CancellationError.self) { try await call.value }
                #expect(await client.flush(timeout: patience))
                #expect(try trialView(daemon, "api") == [.string("half_open"), .int(0), .int(1), .int(0)],
                        "the permit is free at once and the cancelled call counted as nothing")
                if let next = try await granted(api) {
                    #expect(next.isTrial == true, "another trial may go")
                    next.succeeded()
                } else {
                    Issue.record("the freed place was not given to another trial")
                }
            }
        }

        @Test func abandoningATrialFreesItsPlace() async throws {
            try await withDaemonAndClient(cacheMs: 60_000) { daemon, client in
                let api = try await halfOpen(daemon, client, "api")
                let trial = try await api.attempt()
                #expect(trial.isTrial == true)
                #expect(try await refusal(api)?.state == .halfOpen, "one trial at a time")
                trial.abandon()
                #expect(await client.flush(timeout: patience))
                #expect(try trialView(daemon, "api") == [.string("half_open"), .int(0), .int(1), .int(0)])
                #expect(try await granted(api)?.isTrial == true)
            }
        }

        @Test func abandoningAClosedAttemptSendsNothing() async throws {
            try await withDaemonAndClient(cacheMs: 60_000) { daemon, client in
                let db = client.breaker("db")
                try await db.attempt().abandon()
                try await db.attempt().abandon()
                #expect(await client.flush(timeout: patience))
                let stats = client.statistics
                #expect([stats.decisionRequests, stats.recordsSent, stats.outcomesSent] == [1, 0, 0])
                #expect(try daemon.inspect("db")["metrics"]?["total_calls"] == .int(0))
            }
        }

        @Test func abandoningAFallbackTrialFreesTheLocalBreakersPlace() async throws {
            let clock = ManualClock()
            var c = testConfiguration(port: try await unusedPort(), fallback: .local)
            c.defaultLocalConfig = .init(failureThreshold: 1, successThreshold: 1, timeoutMs: 30, halfOpenMaxCalls: 1)
            c.clock = .manual(clock)
            let client = try await BreakerClient(configuration: c)
            try await withCleanup({
                let db = client.breaker("db")
                try await db.attempt().failed()
                #expect(try await refusal(db)?.state == .open)
                clock.advance(by: .milliseconds(30))
                let trial = try await db.attempt()
                let kind = (trial.isTrial, trial.isFallback)
                #expect(kind == (true, true))
                #expect(try await refusal(db)?.state == .halfOpen, "one trial at a time")
                trial.abandon()
                let next = try await granted(db)
                #expect(next?.isTrial == true, "the place is free again")
            }, cleanup: { await client.shutdown() })
        }
    }
}
