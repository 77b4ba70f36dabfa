import BreakerTestSupport
import Foundation
import Testing

/// breakerctl against a daemon process that requires mutual TLS.
@Suite("breakerctl over TLS", .serialized)
struct TLSCommandTests {
    let directory = makeTempDirectory()
    let pki: TestCertificates
    let daemon: DaemonProcess

    init() throws {
        pki = try TestCertificates(in: directory + "/tls")
        daemon = DaemonProcess(database: directory + "/db.sqlite3", arguments: [
            "--tls-cert", pki.serverCertificate, "--tls-key", pki.serverKey, "--tls-client-ca", pki.caCertificate,
        ])
        try daemon.start()
    }

    private var clientFlags: [String] {
        ["--tls-ca", pki.caCertificate, "--tls-cert", pki.clientCertificate, "--tls-key", pki.clientKey]
    }

    @Test func commandsWorkWithATrustedClientCertificate() throws {
        defer { daemon.kill(SIGTERM) }
        let ping = try breakerctl(["ping"] + clientFlags, port: daemon.port)
        #expect(ping.status == 0, "\(ping.stderr)")

        // Global options before the subcommand, as with --host.
        let configure = try breakerctl(clientFlags + ["configure", "tls-db", "--failure-threshold", "3"], port: daemon.port)
        #expect(configure.status == 0, "\(configure.stderr)")

        // The environment instead of flags.
        let inspect = try breakerctl(["inspect", "tls-db", "--json"], port: daemon.port, environment: [
            "BREAKERD_TLS_CA": pki.caCertificate, "BREAKERD_TLS_CERT": pki.clientCertificate, "BREAKERD_TLS_KEY": pki.clientKey,
        ])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(inspect.stdout.contains(#""failure_threshold":3"#), "\(inspect.stdout)")
    }

    @Test func refusalsAreUnreachableWithTheReason() throws {
        defer { daemon.kill(SIGTERM) }
        let plain = try breakerctl(["ping"], port: daemon.port)
        #expect(plain.status == 3)
        #expect(plain.stderr.contains("cannot reach breakerd"), "\(plain.stderr)")

        let untrusted = try breakerctl(["ping", "--tls-ca", pki.strangerCA, "--tls-cert", pki.clientCertificate,
                                        "--tls-key", pki.clientKey], port: daemon.port)
        #expect(untrusted.status == 3)
        #expect(untrusted.stderr.contains("certificate is not trusted"), "\(untrusted.stderr)")

        let noCertificate = try breakerctl(["ping", "--tls-ca", pki.caCertificate], port: daemon.port)
        #expect(noCertificate.status == 3, "\(noCertificate.stderr)")
        #expect(noCertificate.stderr.uppercased().contains("CERTIFICATE"), "\(noCertificate.stderr)")

        let stranger = try breakerctl(["ping", "--tls-ca", pki.caCertificate, "--tls-cert", pki.strangerCertificate,
                                       "--tls-key", pki.strangerKey], port: daemon.port)
        #expect(stranger.status == 3, "\(stranger.stderr)")

        let halfFlags = try breakerctl(["ping", "--tls-cert", pki.clientCertificate], port: daemon.port)
        #expect(halfFlags.status == 2)
        #expect(halfFlags.stderr.contains("--tls-cert and --tls-key go together"), "\(halfFlags.stderr)")
    }
}
