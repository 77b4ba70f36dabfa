import BreakerCore
import BreakerClient
import BreakerTestSupport
import Testing

/// Every client test runs against a real daemon over real sockets. They run one at a time:
/// several measure how fast something happens, and the machine has two cores.
@Suite(.serialized) struct BreakerClientTests {}

extension BreakerClientTests {
    @Suite struct DecisionCache {
        @Test func cachedDecisionIsReusedWithinItsCacheMs() async throws {
            try await withDaemonAndClient(cacheMs: 10_000) { _, client in
                let db = client.breaker("postgresql-primary")
                for _ in 0..<1000 {
                    let attempt = try await db.attempt()
                    #expect(!attempt.isFallback && !attempt.isTrial)
                }
                #expect(client.statistics.decisionRequests == 1)
            }
        }

        @Test func cachedDecisionExpiresAfterItsCacheMs() async throws {
            let clock = ManualClock()
            try await withDaemonAndClient(cacheMs: 40, { $0.clock = .manual(clock) }) { _, client in
                let db = client.breaker("db")
                try await db.attempt().succeeded()
                clock.advance(by: .milliseconds(39))
                try await db.attempt().succeeded()
                let beforeExpiry = client.statistics.decisionRequests
                clock.advance(by: .milliseconds(1))
                try await db.attempt().succeeded()
                #expect([beforeExpiry, client.statistics.decisionRequests] == [1, 2], "cached for exactly its 40 ms")
            }
        }

        @Test func recordReplyUpdatesTheCacheWithoutWatch() async throws {
            // The manual clock stands still: however slow the machine, the inferred OPEN
            // (cached for `inferredOpenCache`) cannot expire before the last attempt.
            let clock = ManualClock()
            try await withDaemonAndClient(cacheMs: 60_000, {
                $0.watchTransitions = false
                $0.clock = .manual(clock)
            }) { daemon, client in
                try daemon.configure("db", #"{"failure_threshold":2}"#)
                let db = client.breaker("db")
                try await db.attempt().abandon()
                try await db.attempt().failed()
                try await db.attempt().failed()
                #expect(await client.flush(timeout: patience))
                let rejected = try await refusal(db)
                #expect(rejected == BreakerOpenError(name: "db", state: .open, retryAfter: nil, source: .daemon))
                let stats = client.statistics
                #expect([stats.decisionRequests, stats.pushedTransitions] == [1, 0],
                        "the record reply, not a new question (nor a push), closed the gate")
            }
        }

        @Test func halfOpenTrialsAskForAPermitEachAndReportWithIt() async throws {
            try await withDaemonAndClient(cacheMs: 60_000) { daemon, client in
                try daemon.configure("api", #"{"failure_threshold":1,"success_threshold":2,"timeout_ms":50,"half_open_max_calls":1}"#)
                let api = client.breaker("api")
                try await api.attempt().failed()
                #expect(await client.flush(timeout: patience))
                var trial: BreakerAttempt?
                #expect(await eventually(within: patience) {
                    trial = (try? await granted(api)) ?? nil
                    return trial != nil
                })
                let kind = (trial?.isTrial, trial?.isFallback)
                #expect(kind == (true, false))
                let asked = client.statistics.decisionRequests
                let second = try await refusal(api)
                #expect(second?.state == .halfOpen && second?.source == .daemon)
                #expect(client.statistics.decisionRequests == asked + 1, "nothing is cached in half-open")
                trial.take()?.succeeded()
                #expect(await client.flush(timeout: patience))
                let next = try await api.attempt()
                #expect(next.isTrial == true)
                next.succeeded()
                #expect(await client.flush(timeout: patience))
                let view = try daemon.inspect("api")
                #expect(view["state"] == .string("closed"))
                #expect(view["metrics"]?["state_transitions"]?["half_open_to_closed"] == .int(1))
                #expect(view["metrics"]?["successful_calls"] == .int(2))
                #expect(try await eventually(within: patience) { try await !api.attempt().isTrial })
            }
        }

        @Test func invalidNameIsRefusedWithoutAskingTheDaemon() async throws {
            try await withDaemonAndClient { _, client in
                await #expect {
                    _ = try await client.breaker("no spaces allowed").attempt()
                } throws: { error in
                    (error as? BreakerClientError)?.code == .invalidName
                }
                #expect(client.statistics.decisionRequests == 0)
            }
        }

        @Test func configureReturnsTheConfigAndTeachesIt() async throws {
            try await withDaemonAndClient { daemon, client in
                let db = client.breaker("db")
                let config = try await db.configure(BreakerConfigPatch(failureThreshold: 7, timeout: .milliseconds(1234)))
                #expect(config.failureThreshold == 7 && config.timeout == .milliseconds(1234))
                #expect(db.knownConfig == config)
                #expect(try daemon.inspect("db")["config"]?["failure_threshold"] == .int(7))
                await #expect {
                    _ = try await db.configure(BreakerConfigPatch(failureThreshold: 0))
                } throws: { error in
                    (error as? BreakerClientError)?.code == .badRequest
                }
            }
        }
    }
}
