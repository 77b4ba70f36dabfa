import BreakerTLS
import NIOCore
import NIOPosix
import NIOSSL

/// A TLS connection for tests: send text, read back lines. The handshake is complete (or has
/// failed, with the reason) when `connect` returns.
public final class TLSTestClient: Sendable {
    private let channel: any Channel

    private init(channel: any Channel) { self.channel = channel }

    deinit { channel.close(promise: nil) }

    public static func connect(port: Int, caFile: String?, certificateFile: String? = nil, keyFile: String? = nil,
                               serverName: String? = nil) async throws -> TLSTestClient {
        let configuration = try ClientTLS.configuration(caFile: caFile, certificateFile: certificateFile, keyFile: keyFile)
        let context = try ClientTLS.makeContext(configuration)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let channel = try await TLSHandshakeWaiter.connect(on: loop, timeout: .seconds(10)) { handshake in
            ClientBootstrap(group: loop)
                .connectTimeout(.seconds(10))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handlers = channel.pipeline.syncOperations
                        try handlers.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverName))
                        try handlers.addHandler(TLSHandshakeWaiter(completing: handshake))
                        try handlers.addHandler(LineCollector())
                    }
                }
                .connect(host: "127.0.0.1", port: port)
        }
        return TLSTestClient(channel: channel)
    }

    /// Sends `text` and returns what arrived once `lines` lines have (or the server closed, or
    /// 10 s passed).
    public func exchange(_ text: String, untilLines lines: Int) async throws -> String {
        try await channel.writeAndFlush(ByteBuffer(string: text))
        let channel = self.channel
        let received = try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.handler(type: LineCollector.self).wait(forLines: lines)
        }.flatMap { $0 }.get()
        return received
    }
}

/// Collects what the server sends; completes a waiter once enough lines are in.
private final class LineCollector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private var received = ByteBuffer()
    private var waiter: (lines: Int, promise: EventLoopPromise<String>)?
    private var closed = false

    func wait(forLines lines: Int) -> EventLoopFuture<String> {
        let promise = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: String.self)
        waiter = (lines, promise)
        check()
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        received.writeBuffer(&chunk)
        check()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        check()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        waiter?.promise.fail(error)
        waiter = nil
        context.close(promise: nil)
    }

    private func check() {
        guard let waiter else { return }
        let lines = received.readableBytesView.lazy.filter { $0 == UInt8(ascii: "\n") }.count
        if lines >= waiter.lines || closed {
            self.waiter = nil
            waiter.promise.succeed(String(buffer: received))
        }
    }
}
