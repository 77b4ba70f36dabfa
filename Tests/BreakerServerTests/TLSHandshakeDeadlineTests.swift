import BreakerTLS
import BreakerTestSupport
import NIOCore
import NIOEmbedded
import NIOSSL
import NIOTLS
import Testing

/// The handshake deadline on the embedded event loop, whose time moves only when told: the
/// deadline is crossed by advancing it, never by waiting.
@Suite("TLS handshake deadline")
struct TLSHandshakeDeadlineTests {
    private func connectedChannel(timeout: Duration) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: TLSHandshakeDeadline(timeout: timeout))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7420)).wait()
        return channel
    }

    @Test func aHandshakeStillRunningAtTheDeadlineIsClosedThenAndNotBefore() throws {
        let channel = try connectedChannel(timeout: .milliseconds(300))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(299))
        #expect(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        #expect(!channel.isActive)
    }

    @Test func aCompletedHandshakeIsNeverCutOffByTheDeadline() throws {
        let channel = try connectedChannel(timeout: .milliseconds(300))
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(200))
        channel.pipeline.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: nil))
        channel.embeddedEventLoop.advanceTime(by: .seconds(3600))
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test func otherEventsPassThroughAndLeaveTheDeadlineStanding() throws {
        let channel = try connectedChannel(timeout: .milliseconds(300))
        channel.pipeline.fireUserInboundEventTriggered(TLSUserEvent.shutdownCompleted)
        channel.embeddedEventLoop.advanceTime(by: .milliseconds(300))
        #expect(!channel.isActive)
    }

    /// The server's own handlers, in the order `makeHandlers` gives, finishing a real handshake
    /// in memory: the deadline hears NIOSSL's completion (it would not, were it placed before
    /// the TLS handler) and the connection outlives it; a peer that stops halfway does not.
    @Test func theServersHandlersCancelTheDeadlineOnARealHandshakeOnly() throws {
        let pki = try TestCertificates(in: TestDaemon.makeTempDirectory() + "/tls")
        let tls = try ServerTLS(files: TLSFiles(certificateChain: pki.serverCertificate, privateKey: pki.serverKey),
                                handshakeTimeout: .milliseconds(300))
        let clientContext = try ClientTLS.makeContext(ClientTLS.configuration(caFile: pki.caCertificate, certificateFile: nil, keyFile: nil))

        for stopsAfterHello in [false, true] {
            let server = EmbeddedChannel()
            try server.pipeline.syncOperations.addHandlers(tls.makeHandlers())
            let client = EmbeddedChannel(handler: try NIOSSLClientHandler(context: clientContext, serverHostname: "localhost"))
            let address = try SocketAddress(ipAddress: "127.0.0.1", port: 7420)
            try server.connect(to: address).wait()
            try client.connect(to: address).wait()
            if stopsAfterHello {
                while let hello = try client.readOutbound(as: ByteBuffer.self) { try server.writeInbound(hello) }
            } else {
                try Self.exchangeUntilQuiet(client, server)
            }
            server.embeddedEventLoop.advanceTime(by: .seconds(3600))  // past NIOSSL's close_notify wait too
            #expect(server.isActive == !stopsAfterHello, "a handshake that \(stopsAfterHello ? "stalled" : "completed")")
        }
    }

    /// Moves bytes both ways until neither side has more to say.
    private static func exchangeUntilQuiet(_ a: EmbeddedChannel, _ b: EmbeddedChannel) throws {
        var moved = true
        while moved {
            moved = false
            while let bytes = try a.readOutbound(as: ByteBuffer.self) { try b.writeInbound(bytes); moved = true }
            while let bytes = try b.readOutbound(as: ByteBuffer.self) { try a.writeInbound(bytes); moved = true }
        }
    }
}
