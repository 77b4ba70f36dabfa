import BreakerClient
import BreakerCore
import BreakerTLS
import BreakerTestSupport
import Foundation
import Testing

extension BreakerClientTests {
    @Suite struct TLS {
        private static func pki() throws -> TestCertificates {
            try TestCertificates(in: NSTemporaryDirectory() + "breaker-client-tls-" + UUID().uuidString)
        }

        @Test func aClientWithATrustedCertificateIsServedOverMutualTLS() async throws {
            let pki = try Self.pki()
            let tls = try ServerTLS(files: TLSFiles(certificateChain: pki.serverCertificate, privateKey: pki.serverKey,
                                                    clientCA: pki.caCertificate))
            let daemon = try await ClientTestDaemon.start(cacheMs: 60_000, tls: tls)
            var configuration = testConfiguration(port: daemon.port, fallback: .failClosed)
            try configuration.useTLS(caFile: pki.caCertificate, certificateFile: pki.clientCertificate, keyFile: pki.clientKey)
            let client = try await BreakerClient(configuration: configuration)
            try await withCleanup({
                #expect(await eventually(within: patience) { client.statistics.isDaemonAvailable })
                let db = client.breaker("tls-db")
                _ = try await db.configure(BreakerConfigPatch(failureThreshold: 2))
                let attempt = try await db.attempt()
                #expect(attempt.isFallback == false, "decided by the daemon over TLS, not by fail_closed")
                try await db.attempt().failed()
                try await db.attempt().failed()
                #expect(await client.flush(timeout: patience))
                let stats = client.statistics
                #expect(stats.recordsAcknowledged == 2 && stats.recordsLost == 0 && stats.recordsRejected == 0)
                // The daemon opened the breaker from what arrived over TLS, and says so.
                let rejected = try await refusal(db)
                #expect(rejected == BreakerOpenError(name: "tls-db", state: .open, retryAfter: nil, source: .daemon))
            }, cleanup: {
                await client.shutdown()
                await daemon.stop()
            })
        }

        @Test func aClientThatDoesNotTrustTheDaemonFallsBackAndNeverConnects() async throws {
            let pki = try Self.pki()
            let tls = try ServerTLS(files: TLSFiles(certificateChain: pki.serverCertificate, privateKey: pki.serverKey))
            let daemon = try await ClientTestDaemon.start(tls: tls)
            var configuration = testConfiguration(port: daemon.port, fallback: .failClosed)
            try configuration.useTLS(caFile: pki.strangerCA)
            let client = try await BreakerClient(configuration: configuration)
            try await withCleanup({
                let refused = try await refusal(client.breaker("tls-db"))
                #expect(refused?.source == .failClosed)
                #expect(client.statistics.connects == 0)
                #expect(!client.statistics.isDaemonAvailable)
            }, cleanup: {
                await client.shutdown()
                await daemon.stop()
            })
        }

        @Test func unreadableTLSFilesAreAConfigurationError() async throws {
            var configuration = BreakerClient.Configuration(host: "127.0.0.1", port: 7420)
            let error = #expect(throws: BreakerClientError.self) {
                try configuration.useTLS(caFile: "/nonexistent/ca.pem")
            }
            #expect(error?.code == .badRequest)
            #expect(error?.message.contains("/nonexistent/ca.pem") == true)
        }
    }
}
