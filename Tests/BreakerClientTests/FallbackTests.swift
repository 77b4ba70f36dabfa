import BreakerClient
import BreakerTestSupport
import Testing

extension BreakerClientTests {
    /// Each fallback mode with the daemon killed (every socket closed) and restarted on the
    /// same port and database.
    @Suite struct Fallback {
        @Test func failOpenAllowsEveryCallWhileTheDaemonIsDownThenResyncs() async throws {
            try await withDaemonAndClient(cacheMs: 20, fallback: .failOpen) { daemon, client in
                try daemon.configure("db", #"{"failure_threshold":1}"#)
                let db = client.breaker("db")
                #expect(try await !db.attempt().isFallback)
                await daemon.kill()
                #expect(await eventually(within: patience) { !client.statistics.isDaemonAvailable })
                #expect(try await eventually(within: patience) { try await db.attempt().isFallback })
                for _ in 0..<10 {
                    let attempt = try await db.attempt()
                    #expect(attempt.isFallback == true)
                    attempt.failed()  // follows no daemon decision: not sent, and nothing local to open
                }
                try await daemon.restart()
                #expect(await eventually(within: patience) { client.statistics.isDaemonAvailable })
                let back = try await db.attempt()
                #expect(back.isFallback == false)
                #expect(client.statistics.resyncs >= 2)
                #expect(try daemon.inspect("db")["state"] == .string("closed"))
            }
        }

        @Test func failClosedRejectsEveryCallWhileTheDaemonIsDownThenResyncs() async throws {
            try await withDaemonAndClient(cacheMs: 20, fallback: .failClosed) { daemon, client in
                let db = client.breaker("db")
                #expect(try await !db.attempt().isFallback)
                await daemon.kill()
                #expect(await eventually(within: patience) { !client.statistics.isDaemonAvailable })
                var rejection: BreakerOpenError?
                #expect(try await eventually(within: patience) {
                    rejection = try await refusal(db)
                    return rejection != nil
                })
                #expect(rejection?.source == .failClosed && rejection?.retryAfter == nil)
                try await daemon.restart()
                #expect(await eventually(within: patience) { client.statistics.isDaemonAvailable })
                #expect(try await !db.attempt().isFallback)
            }
        }

        @Test func localFallbackDecidesWithTheLastKnownConfigThenResyncs() async throws {
            try await withDaemonAndClient(cacheMs: 20, fallback: .local, { $0.defaultLocalConfig = .init(failureThreshold: 100) }) { daemon, client in
                let db = client.breaker("db")
                _ = try await db.configure(BreakerConfigPatch(failureThreshold: 2, timeoutMs: 60_000))
                #expect(try await !db.attempt().isFallback)
                await daemon.kill()
                #expect(await eventually(within: patience) { !client.statistics.isDaemonAvailable })
                #expect(try await eventually(within: patience) { try await db.attempt().isFallback })
                try await db.attempt().failed()
                try await db.attempt().failed()  // the learnt threshold of 2, not the default 100
                guard let rejection = try await refusal(db) else {
                    Issue.record("the local breaker should have opened")
                    return
                }
                #expect(rejection.source == .local && rejection.state == .open)
                #expect(rejection.retryAfter.map { $0 > .seconds(50) } == true)

                try await daemon.restart()
                #expect(await eventually(within: patience) { client.statistics.isDaemonAvailable })
                let back = try await db.attempt()  // local state dropped: the daemon decides again
                #expect(back.isFallback == false)
                #expect(try daemon.inspect("db")["state"] == .string("closed"))
            }
        }

        @Test func localFallbackRecoversThroughHalfOpenTrials() async throws {
            let port = try await unusedPort()
            var c = testConfiguration(port: port, fallback: .local)
            c.defaultLocalConfig = .init(failureThreshold: 1, successThreshold: 1, timeoutMs: 30)
            let client = try await BreakerClient(configuration: c)
            try await withCleanup({
                let db = client.breaker("db")
                try await db.attempt().failed()
                #expect(try await refusal(db) != nil)
                var trial: BreakerAttempt?
                #expect(await eventually(within: patience) {
                    trial = (try? await granted(db)) ?? nil
                    return trial != nil
                })
                let kind = (trial?.isTrial, trial?.isFallback)
                #expect(kind == (true, true))
                trial.take()?.succeeded()
                let closed = try await db.attempt()
                #expect(closed.isTrial == false)
            }, cleanup: { await client.shutdown() })
        }

        @Test func unreachableDaemonAtStartNeitherFailsNorDelaysStartUp() async throws {
            let port = try await unusedPort()
            let started = ContinuousClock.now
            let client = try await BreakerClient(configuration: testConfiguration(port: port, fallback: .failOpen))
            try await withCleanup({
                // Under testConfiguration's 3 s connect timeout: start-up did not wait for it.
                #expect(ContinuousClock.now - started < .seconds(2))
                let attempt = try await client.breaker("db").attempt()
                #expect(attempt.isFallback == true)
                #expect(!client.statistics.isDaemonAvailable)
            }, cleanup: { await client.shutdown() })
        }

        @Test(arguments: [RawServer.Behavior.junk, .wrongShape])
        func daemonAnsweringGarbageNeverHangsOrCrashesTheService(_ behavior: RawServer.Behavior) async throws {
            let server = try await RawServer(behavior)
            try await withCleanup({
                for mode in [BreakerClient.FallbackMode.failOpen, .failClosed, .local] {
                    let client = try await BreakerClient(configuration: testConfiguration(port: server.port, fallback: mode))
                    try await withCleanup({
                        let db = client.breaker("db")
                        for _ in 0..<20 {
                            let started = ContinuousClock.now
                            let attempt = try await granted(db)
                            // Under the 3 s decision timeout: garbage is given up on at once.
                            #expect(ContinuousClock.now - started < .seconds(2))
                            if let attempt {
                                #expect(mode != .failClosed && attempt.isFallback == true, "\(mode) lets the call through itself")
                                attempt.succeeded()
                            } else {
                                #expect(mode == .failClosed, "only fail_closed rejects")
                            }
                        }
                        #expect(client.statistics.protocolViolations >= 1)
                        #expect(!client.statistics.isDaemonAvailable)
                    }, cleanup: { await client.shutdown() })
                }
            }, cleanup: { await server.stop() })
        }

        @Test func silentDaemonDelaysACallNoLongerThanTheDecisionTimeout() async throws {
            let server = try await RawServer(.acceptWatchThenSilent)
            try await withCleanup({
                let client = try await BreakerClient(configuration: testConfiguration(port: server.port, fallback: .failOpen) {
                    $0.decisionTimeout = .milliseconds(100)
                })
                try await withCleanup({
                    #expect(await eventually(within: patience) { client.statistics.isDaemonAvailable })
                    let started = ContinuousClock.now
                    let attempt = try await client.breaker("db").attempt()
                    let waited = ContinuousClock.now - started
                    #expect(attempt.isFallback == true)
                    // Bounded by the decision timeout, not by the silent daemon (which would hold
                    // the call forever); the upper bound leaves room for a loaded machine.
                    #expect(waited >= .milliseconds(90) && waited < .seconds(3), "waited \(waited)")
                    #expect(client.statistics.decisionRequests == 1)
                }, cleanup: { await client.shutdown() })
            }, cleanup: { await server.stop() })
        }
    }
}
