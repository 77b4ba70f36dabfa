import BreakerClient
import BreakerTestSupport
import Testing

extension BreakerClientTests {
    @Suite struct PushedTransitions {
        @Test func pushedOpenStopsOtherClientWithin50ms() async throws {
            try await withDaemonAndClient(cacheMs: 60_000) { daemon, a in
                let b = try await BreakerClient(configuration: testConfiguration(port: daemon.port))
                try await withCleanup({ try await pushedOpenStopsOtherClient(daemon, a, b) }, cleanup: { await b.shutdown() })
            }
        }

        private func pushedOpenStopsOtherClient(_ daemon: ClientTestDaemon, _ a: BreakerClient, _ b: BreakerClient) async throws {
            try daemon.configure("postgresql-primary", #"{"failure_threshold":3}"#)
            let dbA = a.breaker("postgresql-primary"), dbB = b.breaker("postgresql-primary")
            for _ in 0..<100 { _ = try await dbB.attempt() }
            #expect(b.statistics.decisionRequests == 1, "B holds a CLOSED answer it may reuse for 60 s")

            for _ in 0..<2 { try await dbA.attempt().failed() }
            try await dbA.attempt().failed()
            let failed = ContinuousClock.now
            var rejection: BreakerOpenError?
            let stopped = try await eventually(within: patience) {
                rejection = try await refusal(dbB)
                return rejection != nil
            }
            let elapsed = ContinuousClock.now - failed
            print("B stopped \(elapsed) after A's third failure")
            // How fast is a benchmark's question, not this test's (the figure printed above is
            // for reading): B holds an answer good for 60 s, so stopping at all within 5 s, with
            // no second decision request, is the push's doing.
            #expect(stopped)
            #expect(rejection?.source == .daemon && rejection?.state == .open)
            #expect(rejection?.retryAfter == nil, "a push carries no deadline; the client does not invent one")
            #expect(b.statistics.decisionRequests == 1, "B was stopped by the push, not by asking again")
            #expect(b.statistics.pushedTransitions >= 1)
        }

        @Test func pushedHalfOpenDropsACachedRejection() async throws {
            try await withDaemonAndClient(cacheMs: 60_000) { daemon, client in
                try daemon.configure("api", #"{"failure_threshold":1,"timeout_ms":300}"#)
                let api = client.breaker("api")
                try await api.attempt().failed()
                #expect(await client.flush(timeout: patience))
                #expect(try await eventually(within: patience) { try await refusal(api) != nil })
                let asked = client.statistics.decisionRequests
                // OPEN for 300 ms; the push of the end of OPEN lets the next call ask at once.
                #expect(try await eventually(within: patience) { try await granted(api)?.isTrial == true })
                #expect(client.statistics.decisionRequests <= asked + 2)
            }
        }
    }

    @Suite struct RecordPipeline {
        @Test func successesAreFoldedWithExactTotalsAtTheDaemon() async throws {
            try await withDaemonAndClient(cacheMs: 60_000) { daemon, client in
                let db = client.breaker("db")
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<4 {
                        group.addTask { for _ in 0..<5_000 { try await db.run {} } }
                    }
                    try await group.waitForAll()
                }
                #expect(await client.flush(timeout: patience))
                let metrics = try daemon.inspect("db")["metrics"]
                #expect(metrics?["successful_calls"] == .int(20_000))
                #expect(metrics?["total_calls"] == .int(20_000))
                let stats = client.statistics
                #expect(stats.outcomesSent == 20_000)
                #expect(stats.recordsAcknowledged == stats.recordsSent)
                print("20000 successes went out as \(stats.recordsSent) records")
                #expect(stats.recordsSent <= 2_000, "successes within the fold window share a record")
            }
        }

        @Test func failuresAreNeverFoldedAndOpenTheBreakerOnTime() async throws {
            try await withDaemonAndClient(cacheMs: 60_000) { daemon, client in
                try daemon.configure("db", #"{"failure_threshold":5}"#)
                let db = client.breaker("db")
                for _ in 0..<100 { try await db.run {} }
                for _ in 0..<5 { await #expect(throws: DependencyDown.self) { try await db.run { throw DependencyDown() } } }
                #expect(await client.flush(timeout: patience))
                let view = try daemon.inspect("db")
                #expect(view["state"] == .string("open"))
                #expect(view["metrics"]?["failed_calls"] == .int(5))
                #expect(view["metrics"]?["successful_calls"] == .int(100))
                let stats = client.statistics
                #expect(stats.outcomesSent - stats.recordsSent == 99, "the 5 failures went one per record")
            }
        }

        @Test func outcomesReachTheDaemonInTheOrderTheyHappened() async throws {
            try await withDaemonAndClient(cacheMs: 60_000) { daemon, client in
                try daemon.configure("db", #"{"failure_threshold":5}"#)
                let db = client.breaker("db")
                for _ in 0..<50 { try await db.attempt().succeeded() }
                for _ in 0..<4 { try await db.attempt().failed() }
                try await db.attempt().succeeded()  // resets the run of failures...
                for _ in 0..<4 { try await db.attempt().failed() }  // ...so these four do not open it
                #expect(await client.flush(timeout: patience))
                let view = try daemon.inspect("db")
                #expect(view["state"] == .string("closed"))
                #expect(view["failure_count"] == .int(4))
                #expect(view["metrics"]?["total_calls"] == .int(59))
            }
        }

        @Test func boundedQueueDropsTheOldestUnderADeadDaemon() async throws {
            try await withDaemonAndClient(cacheMs: 60_000, fallback: .failOpen, { $0.maxQueuedRecords = 50 }) { daemon, client in
                try daemon.configure("db", #"{"failure_threshold":1000000}"#)
                let db = client.breaker("db")
                _ = try await db.attempt()
                await daemon.kill()
                #expect(await eventually(within: patience) { !client.statistics.isDaemonAvailable })
                for _ in 0..<1_000 { try await db.attempt().failed() }  // the cached CLOSED answer still holds
                let stats = client.statistics
                #expect(stats.recordsPending <= 50)
                #expect(stats.recordsDropped + stats.recordsLost + stats.recordsPending + stats.recordsAcknowledged == 1_000)
                #expect(stats.recordsDropped >= 900)

                try await daemon.restart()
                #expect(await eventually(within: patience) { client.statistics.recordsPending == 0 })
                let delivered = client.statistics.recordsAcknowledged
                #expect(delivered >= 1 && delivered <= 50)
                #expect(try daemon.inspect("db")["metrics"]?["failed_calls"] == .int(Int64(delivered)))
            }
        }
    }
}
