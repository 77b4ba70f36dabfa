import BreakerClient
import BreakerTestSupport
import Testing

extension BreakerClientTests {
    /// `flush` waits for the acknowledgement that empties the pipeline, or for its timeout.
    @Suite struct Flush {
        @Test func flushGivesUpAtItsTimeoutWhileTheDaemonIsAwayAndSucceedsOnceItIsBack() async throws {
            try await withDaemonAndClient(cacheMs: 60_000) { daemon, client in
                let db = client.breaker("db")
                let attempt = try await db.attempt()
                await daemon.kill()
                #expect(await eventually(within: patience) { !client.statistics.isDaemonAvailable })
                attempt.failed()
                let started = ContinuousClock.now
                let flushedWhileAway = await client.flush(timeout: .milliseconds(200))
                let waited = ContinuousClock.now - started
                #expect(flushedWhileAway == false)
                #expect(waited >= .milliseconds(200) && waited < .seconds(3), "waited \(waited)")
                #expect(client.statistics.recordsPending == 1)
                try await daemon.restart()
                #expect(await client.flush(timeout: .seconds(10)))
                #expect(try daemon.inspect("db")["metrics"]?["failed_calls"] == .int(1))
            }
        }
    }
}
