import BreakerServer
import BreakerTLS
import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

@Suite("TLS on the protocol listener")
struct TLSTests {
    private static func certificates() throws -> TestCertificates {
        try TestCertificates(in: TestDaemon.makeTempDirectory() + "/tls")
    }

    private static let request = #"{"op":"record-failure","breaker":"tls-db","id":1}"# + "\n" + #"{"op":"inspect","breaker":"tls-db","id":2}"# + "\n"

    @Test func aTLSClientIsServedAndAPlainTextClientIsNot() async throws {
        let pki = try Self.certificates()
        let tls = try ServerTLS(files: TLSFiles(certificateChain: pki.serverCertificate, privateKey: pki.serverKey))
        try await withDaemon(configure: { $0.tls = tls }) { daemon in
            let client = try await TLSTestClient.connect(port: daemon.port, caFile: pki.caCertificate)
            let replies = try await client.exchange(Self.request, untilLines: 2).split(separator: "\n").map { try JSONParser.parse(String($0)) }
            #expect(replies.count == 2)
            #expect(replies.first?["ok"] == .bool(true))
            #expect(replies.last?["breaker"]?["metrics"]?["failed_calls"] == .int(1))

            // A plain-text request is not a TLS ClientHello: the handshake fails, the
            // connection is closed, and nothing it said reaches a breaker.
            let plain = try daemon.client()
            try plain.send(#"{"op":"record-failure","breaker":"tls-db"}"#)
            #expect(throws: (any Error).self) { _ = try plain.readJSON() }
            let again = try await TLSTestClient.connect(port: daemon.port, caFile: pki.caCertificate)
            let inspect = try await again.exchange(#"{"op":"inspect","breaker":"tls-db","id":3}"# + "\n", untilLines: 1)
            #expect(try JSONParser.parse(inspect.trimmingCharacters(in: .newlines))["breaker"]?["metrics"]?["failed_calls"] == .int(1))
        }
    }

    @Test func theClientChecksTheServerCertificate() async throws {
        let pki = try Self.certificates()
        let tls = try ServerTLS(files: TLSFiles(certificateChain: pki.serverCertificate, privateKey: pki.serverKey))
        try await withDaemon(configure: { $0.tls = tls }) { daemon in
            // Trusting another CA: the daemon's certificate does not verify.
            await #expect(throws: TLSHandshakeFailure.self) {
                _ = try await TLSTestClient.connect(port: daemon.port, caFile: pki.strangerCA)
            }
            // A DNS name the certificate carries (it names 127.0.0.1 too, which NIOSSL accepts
            // for the address connected to whatever the name).
            let client = try await TLSTestClient.connect(port: daemon.port, caFile: pki.caCertificate, serverName: "localhost")
            #expect(try await client.exchange(#"{"op":"ping","id":7}"# + "\n", untilLines: 1).contains(#""ok":true"#))
        }
    }

    @Test func mutualTLSAdmitsOnlyClientsWithATrustedCertificate() async throws {
        let pki = try Self.certificates()
        let tls = try ServerTLS(files: TLSFiles(certificateChain: pki.serverCertificate, privateKey: pki.serverKey,
                                                clientCA: pki.caCertificate))
        #expect(tls.requiresClientCertificates)
        try await withDaemon(configure: { $0.tls = tls }) { daemon in
            // TLS 1.3 reports a refused client certificate after the client's handshake is
            // done, so the refusal may surface on the first read instead of at connect.
            for (certificate, key) in [(nil, nil), (pki.strangerCertificate, pki.strangerKey)] as [(String?, String?)] {
                await #expect(throws: (any Error).self) {
                    let client = try await TLSTestClient.connect(port: daemon.port, caFile: pki.caCertificate,
                                                                 certificateFile: certificate, keyFile: key)
                    let reply = try await client.exchange(Self.request, untilLines: 1)
                    if reply.isEmpty { throw TLSHandshakeFailure(reason: "closed without a reply") }
                }
            }

            let client = try await TLSTestClient.connect(port: daemon.port, caFile: pki.caCertificate,
                                                         certificateFile: pki.clientCertificate, keyFile: pki.clientKey)
            // Only this client's failure was counted: the refused ones never reached a breaker.
            let replies = try await client.exchange(Self.request, untilLines: 2).split(separator: "\n")
            #expect(try JSONParser.parse(String(replies[1]))["breaker"]?["metrics"]?["failed_calls"] == .int(1))
        }
    }

    @Test func reloadServesTheNewCertificateToNewConnections() async throws {
        let pki = try Self.certificates()
        let oldCA = pki.directory + "/old-ca.pem"
        try FileManager.default.copyItem(atPath: pki.caCertificate, toPath: oldCA)
        let tls = try ServerTLS(files: TLSFiles(certificateChain: pki.serverCertificate, privateKey: pki.serverKey))
        try await withDaemon(configure: { $0.tls = tls }) { daemon in
            _ = try await TLSTestClient.connect(port: daemon.port, caFile: oldCA)
            try pki.rotateServerCertificate()
            // Files changed but not reloaded: still the old certificate.
            _ = try await TLSTestClient.connect(port: daemon.port, caFile: oldCA)
            try tls.reload()
            await #expect(throws: TLSHandshakeFailure.self) { _ = try await TLSTestClient.connect(port: daemon.port, caFile: oldCA) }
            _ = try await TLSTestClient.connect(port: daemon.port, caFile: pki.caCertificate)

            // A broken file on reload keeps the certificate in use.
            try "not a certificate".write(toFile: pki.serverCertificate, atomically: true, encoding: .utf8)
            #expect(throws: TLSSetupError.self) { try tls.reload() }
            _ = try await TLSTestClient.connect(port: daemon.port, caFile: pki.caCertificate)
        }
    }

    /// The daemon puts the deadline on its connections. (That a completed handshake outlives
    /// it is pinned on manual time in TLSHandshakeDeadlineTests: over real sockets, a loaded
    /// machine can take longer than a short deadline to finish an honest handshake.)
    @Test func aClientThatStallsInTheHandshakeIsDisconnected() async throws {
        let pki = try Self.certificates()
        let tls = try ServerTLS(files: TLSFiles(certificateChain: pki.serverCertificate, privateKey: pki.serverKey),
                                handshakeTimeout: .milliseconds(300))
        try await withDaemon(configure: { $0.tls = tls }) { daemon in
            // The first bytes of a ClientHello record header, then nothing.
            let staller = try daemon.client()
            try staller.sendRaw([0x16, 0x03, 0x01])
            let started = Date()
            #expect(eventually(within: 10) { staller.isClosedByPeer() })
            #expect(Date().timeIntervalSince(started) >= 0.25)
        }
    }

    @Test func aTLSClientOverTheLineLimitGetsItsErrorBeforeTheClose() async throws {
        let pki = try Self.certificates()
        let tls = try ServerTLS(files: TLSFiles(certificateChain: pki.serverCertificate, privateKey: pki.serverKey))
        try await withDaemon(configure: { $0.tls = tls; $0.maxLineLength = 1024 }) { daemon in
            // 1 MB of one endless line, most of it never read: the daemon answers, closes its
            // output after close_notify and drops the rest, so the reply is not lost to a reset.
            let client = try await TLSTestClient.connect(port: daemon.port, caFile: pki.caCertificate)
            let reply = try await client.exchange(String(repeating: "x", count: 1_000_000), untilLines: 1)
            #expect(try JSONParser.parse(reply.trimmingCharacters(in: .newlines))["error"]?["code"] == .string("line_too_long"))
            let next = try await TLSTestClient.connect(port: daemon.port, caFile: pki.caCertificate)
            #expect(try await next.exchange(#"{"op":"ping","id":1}"# + "\n", untilLines: 1).hasPrefix(#"{"ok":true"#))
        }
    }

    @Test func unusableFilesAreRefusedWithTheFileNamed() throws {
        let pki = try Self.certificates()
        let missing = pki.directory + "/missing.pem"
        let error = #expect(throws: TLSSetupError.self) {
            try ServerTLS(files: TLSFiles(certificateChain: missing, privateKey: pki.serverKey))
        }
        #expect(error?.message.contains(missing) == true)
        // The client's key with the server's certificate: a key that does not belong.
        let mismatch = #expect(throws: TLSSetupError.self) {
            try ServerTLS(files: TLSFiles(certificateChain: pki.serverCertificate, privateKey: pki.clientKey))
        }
        #expect(mismatch?.message.contains(pki.clientKey) == true)
        let notPEM = pki.directory + "/garbage.pem"
        try "hello".write(toFile: notPEM, atomically: true, encoding: .utf8)
        #expect(throws: TLSSetupError.self) {
            try ServerTLS(files: TLSFiles(certificateChain: pki.serverCertificate, privateKey: pki.serverKey, clientCA: notPEM))
        }
    }
}
