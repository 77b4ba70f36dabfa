import BreakerLine
import BreakerTestSupport
import BreakerTLS
import BreakerWire
import Foundation
import Testing

extension BreakerClientTests {
    /// BreakerLine's blocking connection, the one breakerctl and the tests' LineClient use:
    /// plain or TLS, every failure with its code.
    @Suite struct LineConnections {
        @Test func plainAndTLSConnectionsCarryARequestAndItsReply() async throws {
            let pki = try TestCertificates(in: NSTemporaryDirectory() + "breaker-line-" + UUID().uuidString)
            let plain = try await ClientTestDaemon.start()
            let secure = try await ClientTestDaemon.start(tls: try ServerTLS(files: TLSFiles(certificateChain: pki.serverCertificate,
                                                                                            privateKey: pki.serverKey)))
            try await withCleanup({
                let tls = try LineTLS(caFile: pki.caCertificate, certificateFile: nil, keyFile: nil, host: "localhost", serverName: nil)
                for (port, tls) in [(plain.port, nil), (secure.port, tls)] as [(Int, LineTLS?)] {
                    let connection = try LineConnection(host: "127.0.0.1", port: port, tls: tls, timeout: .seconds(5))
                    try connection.send(#"{"op":"ping","id":1}"#)
                    let reply = try JSONParser.parse(try connection.readLine())
                    #expect(reply["ok"] == .bool(true) && reply["id"] == .int(1))
                }
            }, cleanup: {
                await plain.stop()
                await secure.stop()
            })
        }

        @Test func failuresCarryAStableCode() async throws {
            let refused = try await unusedPort()
            #expect(throws: LineConnectionError(.connectFailed, "Connection refused")) {
                _ = try LineConnection(host: "127.0.0.1", port: refused, timeout: .seconds(2))
            }
            let silent = try await RawServer(.silent)
            try await withCleanup({
                let connection = try LineConnection(host: "127.0.0.1", port: silent.port, timeout: .milliseconds(200))
                try connection.send(#"{"op":"ping"}"#)
                #expect(throws: LineConnectionError(.timedOut, "no reply within the timeout")) { _ = try connection.readLine() }
            }, cleanup: { await silent.stop() })
            let daemon = try await ClientTestDaemon.start()
            let connection = try LineConnection(host: "127.0.0.1", port: daemon.port, timeout: .seconds(5))
            await daemon.stop()
            #expect(throws: LineConnectionError(.closed, "the daemon closed the connection")) { _ = try connection.readLine() }
        }
    }
}
