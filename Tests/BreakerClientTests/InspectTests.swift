import BreakerClient
import BreakerTestSupport
import Testing

extension BreakerClientTests {
    /// `inspect` and `list` give a service typed breakers without raw sockets.
    @Suite struct Inspect {
        @Test func inspectShowsStateConfigCountsAndMetrics() async throws {
            try await withDaemonAndClient { daemon, client in
                let db = client.breaker("orders-db")
                let config = try await db.configure(BreakerConfigPatch(failureThreshold: 3, timeout: .seconds(30),
                                                                       halfOpenPermitTimeout: .milliseconds(1500)))
                try await db.attempt().failed()
                try await db.attempt().succeeded()
                try await db.attempt().failed()
                #expect(await client.flush(timeout: patience))
                let snapshot = try await db.inspect()
                let shown = (snapshot.name, snapshot.state, snapshot.failureCount, snapshot.successCount, snapshot.openUntil, snapshot.forced)
                #expect(shown == ("orders-db", .closed, 1, 0, nil, nil))
                #expect(snapshot.config == config)
                #expect([snapshot.config.timeout, snapshot.config.halfOpenPermitTimeout] == [.seconds(30), .milliseconds(1500)])
                let m = snapshot.metrics
                #expect([m.totalCalls, m.successfulCalls, m.failedCalls, m.rejectedCalls] == [3, 1, 2, 0])
                #expect(try daemon.inspect("orders-db")["generation"] == .int(Int64(snapshot.generation)))
            }
        }

        @Test func inspectShowsThePolicyPartOfTheConfigToo() async throws {
            try await withDaemonAndClient { _, client in
                let db = client.breaker("rated")
                var patch = BreakerConfigPatch(timeout: .seconds(5))
                patch.policy = .rate
                patch.window = .count(size: 20)
                patch.failureRateThreshold = 40
                patch.minimumCalls = 10
                patch.slowCallDuration = .some(.milliseconds(250))
                patch.minReporters = .some(2)
                let config = try await db.configure(patch)
                #expect(config == (try patch.applied(to: .default)))
                #expect(try await db.inspect().config == config)
                #expect(config.slowCallDuration == .milliseconds(250))
            }
        }

        @Test func listShowsTheBreakersUnderAPrefix() async throws {
            try await withDaemonAndClient { daemon, client in
                for name in ["orders-db", "orders-cache", "billing-db"] { try daemon.configure(name, #"{"failure_threshold":2}"#) }
                let orders = try await client.list(prefix: "orders-")
                #expect(Set(orders.map(\.name)) == ["orders-db", "orders-cache"])
                #expect(orders.allSatisfy { $0.config.failureThreshold == 2 && $0.state == .closed })
                #expect(try await client.list().count == 3)
            }
        }

        @Test func inspectingAnUnknownBreakerIsNotFound() async throws {
            try await withDaemonAndClient { _, client in
                await #expect {
                    _ = try await client.inspect("nobody")
                } throws: { error in
                    (error as? BreakerClientError)?.code == .notFound
                }
            }
        }

        @Test func theShortInitializerNamesTheClient() async throws {
            try await withDaemonAndClient { daemon, _ in
                let named = try await BreakerClient(host: "127.0.0.1", port: daemon.port, clientName: "orders-7f9c")
                try await withCleanup({
                    #expect(named.configuration.clientName == "orders-7f9c")
                    try daemon.configure("payments", #"{"failure_threshold":3,"min_reporters":2}"#)
                    try await named.breaker("payments").attempt().failed()
                    #expect(await named.flush())
                    #expect(try daemon.inspect("payments")["reporters"] == .array([.string("orders-7f9c")]))
                }, cleanup: { await named.shutdown() })
            }
        }
    }
}
