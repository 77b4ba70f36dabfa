import BreakerTLS
import BreakerTestSupport
import Foundation
import Testing

/// The built executable with `--tls-cert`: both listeners, reload on SIGHUP, refusals at start.
extension ExecutableTests {
@Suite("breakerd TLS", .serialized)
struct TLSProcessTests {
    private static func httpGet(_ path: String, port: Int, caFile: String) async throws -> String {
        let client = try await TLSTestClient.connect(port: port, caFile: caFile)
        // The server closes after answering `Connection: close`; wait for that, not a line count.
        return try await client.exchange("GET \(path) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", untilLines: .max)
    }

    @Test func bothListenersSpeakTLSAndThePlainProtocolIsRefused() async throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pki = try TestCertificates(in: directory + "/tls")
        let daemon = DaemonProcess(database: directory + "/db.sqlite3",
                                   arguments: ["--tls-cert", pki.serverCertificate, "--tls-key", pki.serverKey])
        try daemon.start()
        defer { daemon.kill(SIGTERM) }

        let protocolClient = try await TLSTestClient.connect(port: daemon.port, caFile: pki.caCertificate)
        let reply = try await protocolClient.exchange(#"{"op":"ping","id":1}"# + "\n", untilLines: 1)
        #expect(reply.hasPrefix(#"{"ok":true"#))

        let health = try await Self.httpGet("/healthz", port: daemon.httpPort, caFile: pki.caCertificate)
        #expect(health.hasPrefix("HTTP/1.1 200"))
        let metrics = try await Self.httpGet("/metrics", port: daemon.httpPort, caFile: pki.caCertificate)
        #expect(metrics.contains("breakerd_tls_failures_total"))

        let plain = try daemon.client()
        try plain.send(#"{"op":"ping"}"#)
        #expect(throws: (any Error).self) { _ = try plain.readJSON() }
        #expect(throws: (any Error).self) { _ = try HTTPTestClient.get("/healthz", port: daemon.httpPort) }
    }

    @Test func noHTTPTLSLeavesTheHTTPListenerPlain() async throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pki = try TestCertificates(in: directory + "/tls")
        let daemon = DaemonProcess(database: directory + "/db.sqlite3", arguments: [
            "--tls-cert", pki.serverCertificate, "--tls-key", pki.serverKey, "--tls-client-ca", pki.caCertificate, "--no-http-tls",
        ])
        try daemon.start()
        defer { daemon.kill(SIGTERM) }
        // Probes and scrapers reach /healthz without a certificate; the protocol still needs one.
        #expect(try HTTPTestClient.get("/healthz", port: daemon.httpPort).status == 200)
        await #expect(throws: (any Error).self) {
            let client = try await TLSTestClient.connect(port: daemon.port, caFile: pki.caCertificate)
            let reply = try await client.exchange(#"{"op":"ping","id":1}"# + "\n", untilLines: 1)
            if reply.isEmpty { throw TLSHandshakeFailure(reason: "closed without a reply") }
        }
    }

    @Test func sighupReloadsTheCertificateForNewConnections() async throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pki = try TestCertificates(in: directory + "/tls")
        let oldCA = directory + "/old-ca.pem"
        try FileManager.default.copyItem(atPath: pki.caCertificate, toPath: oldCA)
        let daemon = DaemonProcess(database: directory + "/db.sqlite3",
                                   arguments: ["--tls-cert", pki.serverCertificate, "--tls-key", pki.serverKey])
        try daemon.start()
        defer { daemon.kill(SIGTERM) }
        let before = try await TLSTestClient.connect(port: daemon.port, caFile: oldCA)

        try pki.rotateServerCertificate()
        kill(daemon.process.processIdentifier, SIGHUP)
        var reloaded = false
        let deadline = Date().addingTimeInterval(10)
        while !reloaded, Date() < deadline {
            reloaded = (try? await TLSTestClient.connect(port: daemon.port, caFile: pki.caCertificate)) != nil
            if !reloaded { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(reloaded, "the new certificate is served after SIGHUP")
        await #expect(throws: TLSHandshakeFailure.self) { _ = try await TLSTestClient.connect(port: daemon.port, caFile: oldCA) }
        // The connection made before the reload is still served, and SIGHUP did not stop the daemon.
        #expect(try await before.exchange(#"{"op":"ping","id":2}"# + "\n", untilLines: 1).hasPrefix(#"{"ok":true"#))
        #expect(daemon.process.isRunning)
    }

    @Test func unusableTLSSettingsStopTheDaemonAtStart() throws {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pki = try TestCertificates(in: directory + "/tls")

        let mismatched = DaemonProcess(database: directory + "/db.sqlite3",
                                       arguments: ["--tls-cert", pki.serverCertificate, "--tls-key", pki.clientKey])
        let (status, stderr) = try mismatched.runToExit()
        #expect(status == 1)
        #expect(stderr.contains(pki.clientKey), "\(stderr)")

        let halfConfigured = DaemonProcess(database: directory + "/db.sqlite3", arguments: ["--tls-cert", pki.serverCertificate])
        let (halfStatus, halfStderr) = try halfConfigured.runToExit()
        #expect(halfStatus != 0)
        #expect(halfStderr.contains("tls_cert and tls_key go together"), "\(halfStderr)")

        let missing = DaemonProcess(database: directory + "/db.sqlite3",
                                    arguments: ["--tls-cert", directory + "/nope.pem", "--tls-key", pki.serverKey])
        let (missingStatus, missingStderr) = try missing.runToExit()
        #expect(missingStatus == 1)
        #expect(missingStderr.contains(directory + "/nope.pem"), "\(missingStderr)")
    }
}
}
