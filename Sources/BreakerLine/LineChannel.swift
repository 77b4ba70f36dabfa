import BreakerTLS
import NIOCore
import NIOPosix
import NIOSSL

/// TLS for connections to breakerd: one context for all of a client's connections (loading
/// certificates is not free) and the name the daemon's certificate must carry.
public struct LineTLS: Sendable {
    /// The client's TLS context: trusted roots, and its own certificate when the daemon asks.
    public var context: NIOSSLContext
    /// Checked against the daemon's certificate and sent in SNI; nil checks nothing by name.
    public var serverHostname: String?

    /// TLS with `context`, expecting a certificate for `serverHostname`.
    public init(context: NIOSSLContext, serverHostname: String?) {
        self.context = context
        self.serverHostname = serverHostname
    }

    /// TLS from PEM files (`--tls-ca`, `--tls-cert`, `--tls-key`) for a daemon at `host`, whose
    /// certificate must name `serverName` when given, else `host`.
    public init(caFile: String?, certificateFile: String?, keyFile: String?, host: String,
                serverName: String?) throws(TLSSetupError) {
        let configuration = try ClientTLS.configuration(caFile: caFile, certificateFile: certificateFile, keyFile: keyFile)
        self.init(context: try ClientTLS.makeContext(configuration),
                  serverHostname: ClientTLS.serverHostname(host: host, override: serverName))
    }
}

/// How every client of breakerd opens a connection (BreakerClient, breakerctl over TLS, the
/// tests' TLS client): TCP with `TCP_NODELAY`, with `tls` a handshake completed before the
/// channel is handed out (so a certificate problem is reported as one, not as a connection that
/// closed on its first request), then the caller's handlers.
public enum LineChannel {
    /// Connects to `host:port` on `loop`, bounding the TCP connect and then the handshake by
    /// `timeout` each. Fails with `TLSHandshakeFailure` when the handshake fails, with the
    /// connection error when TCP does.
    public static func connect(
        host: String, port: Int, tls: LineTLS?, on loop: any EventLoop, timeout: TimeAmount,
        handlers: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void
    ) -> EventLoopFuture<any Channel> {
        let handshake = tls.map { _ in loop.makePromise(of: Void.self) }
        let connected = ClientBootstrap(group: loop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls, let handshake {
                        try pipeline.addHandler(NIOSSLClientHandler(context: tls.context, serverHostname: tls.serverHostname))
                        try pipeline.addHandler(TLSHandshakeWaiter(completing: handshake))
                    }
                    try handlers(pipeline)
                }
            }
            .connect(host: host, port: port)
        guard let handshake else { return connected }
        connected.whenFailure { handshake.fail($0) }
        return connected.flatMap { channel in
            let timer = loop.scheduleTask(in: timeout) {
                handshake.fail(TLSHandshakeFailure(reason: "no TLS handshake within \(timeout.nanoseconds / 1_000_000) ms"))
            }
            return handshake.futureResult.always { _ in timer.cancel() }
                .map { channel }
                .flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw error
                }
        }
    }
}

/// Splits the byte stream into lines (`\r\n` or `\n`), refusing any longer than `maxLength`.
public struct LineSplitter: ByteToMessageDecoder {
    public typealias InboundOut = ByteBuffer
    /// The longest line accepted, in bytes, without its terminator.
    public let maxLength: Int

    /// Thrown (through the pipeline's `errorCaught`) for a line over `maxLength`.
    public struct LineTooLong: Error {}

    /// A splitter refusing lines over `maxLength` bytes.
    public init(maxLength: Int) { self.maxLength = maxLength }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > maxLength { throw LineTooLong() }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex
        guard length <= maxLength + 1 else { throw LineTooLong() }
        var line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytesView.last == UInt8(ascii: "\r") { line.moveWriterIndex(to: line.writerIndex - 1) }
        context.fireChannelRead(wrapInboundOut(line))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData  // a partial last line is dropped: replies always end in "\n"
    }
}
