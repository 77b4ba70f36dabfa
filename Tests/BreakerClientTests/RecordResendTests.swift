import BreakerClient
import BreakerTestSupport
import Testing

/// Runs `body` with a real daemon, a `CuttingProxy` in front of it and a client that talks to
/// the daemon only through the proxy (tests configure and inspect the daemon directly).
func withProxiedClient(_ adjust: (inout BreakerClient.Configuration) -> Void = { _ in },
                               _ body: (ClientTestDaemon, CuttingProxy, BreakerClient) async throws -> Void) async throws {
    let daemon = try await ClientTestDaemon.start(cacheMs: 60_000)
    let proxy: CuttingProxy
    do { proxy = try await CuttingProxy(upstreamPort: daemon.port) } catch {
        await daemon.stop()
        throw error
    }
    let client: BreakerClient
    do {
        client = try await BreakerClient(configuration: testConfiguration(port: proxy.port, fallback: .failOpen, adjust))
    } catch {
        await proxy.stop()
        await daemon.stop()
        throw error
    }
    try await withCleanup({
        #expect(await eventually(within: .seconds(20)) { client.statistics.isDaemonAvailable })
        try await body(daemon, proxy, client)
    }, cleanup: {
        await client.shutdown()
        await proxy.stop()
        await daemon.stop()
    })
}

extension BreakerClientTests {
    @Suite struct RecordResend {
        /// The proxy passes the records to the daemon, which commits and answers them, and cuts
        /// the connection instead of passing the answers on: the client must resend what it did
        /// not hear back about, and the daemon must count each record once. Without the dedupe
        /// key every record whose answer was swallowed would be counted twice.
        @Test func recordsCutOffMidFlightAreCountedExactlyOnceAfterTheReconnect() async throws {
            try await withProxiedClient { daemon, proxy, client in
                try daemon.configure("db", #"{"failure_threshold":1000000}"#)
                let db = client.breaker("db")
                for _ in 0..<30 { try await db.run {} }
                #expect(await client.flush(timeout: .seconds(30)))
                let connects = client.statistics.connects

                proxy.set(.cutNextRecordReply)
                for _ in 0..<10 { try await db.attempt().failed() }
                #expect(await eventually(within: .seconds(30)) { proxy.swallowed >= 1 })
                #expect(await client.flush(timeout: .seconds(30)))

                let view = try daemon.inspect("db")
                #expect(view["metrics"]?["failed_calls"] == .int(10))
                #expect(view["metrics"]?["successful_calls"] == .int(30))
                #expect(view["metrics"]?["total_calls"] == .int(40))
                #expect(view["failure_count"] == .int(10), "the 10 failures arrived after the 30 successes")
                let stats = client.statistics
                #expect(stats.connects > connects, "the cut record connection was made again")
                #expect(stats.recordsResent >= 1, "at least the record whose answer was swallowed went again")
                #expect(stats.recordsAcknowledged == stats.recordsSent)
                #expect(stats.recordsLost == 0 && stats.recordsDropped == 0 && stats.recordsRejected == 0)
                #expect(stats.recordsPending == 0)
            }
        }

        /// A call allowed by one daemon finishes after the client has moved to another that
        /// holds its limit of one breaker (`--max-breakers 1`): the record for the unknown
        /// breaker gets `overloaded`, an answer, so it is counted as rejected and never
        /// written again.
        @Test func recordAnsweredWithAnErrorIsNotResent() async throws {
            try await withProxiedClient { first, proxy, client in
                let full = try await ClientTestDaemon.start(cacheMs: 60_000, maxBreakers: 1)
                try await withCleanup({ try await recordAnsweredWithAnError(first, full, proxy, client) }, cleanup: { await full.stop() })
            }
        }

        private func recordAnsweredWithAnError(_ first: ClientTestDaemon, _ full: ClientTestDaemon,
                                               _ proxy: CuttingProxy, _ client: BreakerClient) async throws {
            try full.configure("db", "{}")
            let attempt = try await client.breaker("other").attempt()
            #expect(attempt.isFallback == false)
            let connects = client.statistics.connects
            proxy.redirect(toPort: full.port)
            await first.kill()
            let moved = await eventually(within: .seconds(30)) {
                client.statistics.connects >= connects + 1 + client.configuration.recordConnections
                    && client.statistics.isDaemonAvailable
            }
            #expect(moved, "the decision connection and every record connection reconnected")
            attempt.failed()
            #expect(await eventually(within: .seconds(30)) { client.statistics.recordsRejected == 1 })
            #expect(await client.flush(timeout: .seconds(30)))
            let stats = client.statistics
            #expect(stats.recordsSent == 1)
            #expect(stats.recordsResent == 0)
            #expect(stats.recordsLost == 0 && stats.recordsAcknowledged == 0 && stats.recordsPending == 0)
            #expect(proxy.swallowed == 0)
            #expect(throws: LineClient.Failure.self) { try full.inspect("other") }
        }

        /// Every answer to a record is swallowed: the client resends until `recordRetryLimit`
        /// after the first write, then counts the records as lost. The daemon, which saw every
        /// write, counted each record once.
        @Test func recordsUndeliverablePastTheRetryLimitAreCountedAsLost() async throws {
            try await withProxiedClient({ $0.recordRetryLimit = .seconds(2) }) { daemon, proxy, client in
                try daemon.configure("db", #"{"failure_threshold":1000000}"#)
                let db = client.breaker("db")
                _ = try await db.attempt()  // the decision is cached; the failures below need no daemon
                proxy.set(.cutEveryRecordReply)
                let started = ContinuousClock.now
                for _ in 0..<5 { try await db.attempt().failed() }
                #expect(await eventually(within: .seconds(60)) { client.statistics.recordsLost == 5 })
                let elapsed = ContinuousClock.now - started
                #expect(elapsed >= .milliseconds(1_900), "given up on no earlier than the limit (took \(elapsed))")

                let stats = client.statistics
                #expect(stats.recordsSent == 5 && stats.recordsAcknowledged == 0 && stats.recordsPending == 0)
                #expect(stats.recordsResent >= 1)
                #expect(proxy.swallowed >= 2)
                #expect(try daemon.inspect("db")["metrics"]?["failed_calls"] == .int(5))
                proxy.set(.forward)
            }
        }
    }
}
