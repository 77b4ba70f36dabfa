import BreakerClient
import BreakerTestSupport
import Testing

extension BreakerClientTests {
    @Suite struct Quorum {
        /// Each client names itself with `clientName`, so a `min_reporters` quorum sees two
        /// replicas as two reporters: one failing alone cannot open the breaker, two can.
        @Test func namedClientsCountAsDistinctReportersForAQuorum() async throws {
            try await withDaemonAndClient({ $0.clientName = "orders-a" }) { daemon, a in
                let b = try await BreakerClient(configuration: testConfiguration(port: daemon.port) { $0.clientName = "orders-b" })
                try await withCleanup({
                    try daemon.configure("payments", #"{"failure_threshold":3,"min_reporters":2}"#)
                    for _ in 0..<5 { try await a.breaker("payments").attempt().failed() }
                    #expect(await a.flush())
                    let alone = try daemon.inspect("payments")
                    #expect(alone["state"] == .string("closed"))
                    #expect(alone["reporters"] == .array([.string("orders-a")]))
                    try await b.breaker("payments").attempt().failed()
                    #expect(await b.flush())
                    let both = try daemon.inspect("payments")
                    #expect(both["state"] == .string("open"))
                }, cleanup: { await b.shutdown() })
            }
        }

        @Test func aClientNameOutsideTheAlphabetIsRefused() async throws {
            await #expect(throws: BreakerClientError.self) {
                _ = try await BreakerClient(configuration: testConfiguration(port: 7420) { $0.clientName = "bad name" })
            }
        }
    }
}
