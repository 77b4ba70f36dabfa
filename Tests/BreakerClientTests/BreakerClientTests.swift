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
            try await withDaemonAndClient(cacheMs: 40) { _, client in
                let db = client.breaker("db")
                _ = try await db.attempt()
                let cached = ContinuousClock.now
                #expect(client.statistics.decisionRequests == 1)
                let askedAgain = try await eventually {
                    _ = try await db.attempt()
                    return client.statistics.decisionRequests == 2
                }
                #expect(askedAgain)
                #expect(ContinuousClock.now - cached >= .milliseconds(35))
            }
        }

        @Test func recordReplyUpdatesTheCacheWithoutWatch() async throws {
            try await withDaemonAndClient(cacheMs: 60_000, { $0.watchTransitions = false }) { daemon, client in
                try daemon.configure("db", #"{"failure_threshold":2}"#)
                let db = client.breaker("db")
                _ = try await db.attempt()
                try await db.attempt().failed()
                try await db.attempt().failed()
                #expect(await client.flush())
                let rejected = try await tryAttempt(db)
                #expect(throws: BreakerOpenError.self) { try rejected.get() }
                #expect(client.statistics.decisionRequests == 1, "the record reply, not a new question, closed the gate")
                #expect(client.statistics.pushedTransitions == 0)
            }
        }

        @Test func halfOpenTrialsAskForAPermitEachAndReportWithIt() async throws {
            try await withDaemonAndClient(cacheMs: 60_000) { daemon, client in
                try daemon.configure("api", #"{"failure_threshold":1,"success_threshold":2,"timeout_ms":50,"half_open_max_calls":1}"#)
                let api = client.breaker("api")
                try await api.attempt().failed()
                #expect(await client.flush())
                var trial: BreakerAttempt?
                #expect(await eventually {
                    trial = try? await tryAttempt(api).get()
                    return trial != nil
                })
                #expect(trial?.isTrial == true && trial?.isFallback == false)
                let asked = client.statistics.decisionRequests
                let second = try await tryAttempt(api)
                #expect(throws: BreakerOpenError.self) { try second.get() }
                if case .failure(let rejection) = second {
                    #expect(rejection.state == .halfOpen && rejection.source == .daemon)
                }
                #expect(client.statistics.decisionRequests == asked + 1, "nothing is cached in half-open")
                trial?.succeeded()
                #expect(await client.flush())
                let next = try await api.attempt()
                #expect(next.isTrial)
                next.succeeded()
                #expect(await client.flush())
                let view = try daemon.inspect("api")
                #expect(view["state"] == .string("closed"))
                #expect(view["metrics"]?["state_transitions"]?["half_open_to_closed"] == .int(1))
                #expect(view["metrics"]?["successful_calls"] == .int(2))
                #expect(try await eventually { try await !api.attempt().isTrial })
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
                let config = try await db.configure(BreakerConfigPatch(failureThreshold: 7, timeoutMs: 1234))
                #expect(config.failureThreshold == 7 && config.timeoutMs == 1234)
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
