import BreakerLine
import BreakerTLS
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TLS connection for tests: send text, read back lines. The handshake is complete (or has
/// failed, with the reason) when `connect` returns.
public final class TLSTestClient: Sendable {
    private let channel: any Channel
    private let collector: LineCollector

    private init(channel: any Channel, collector: LineCollector) {
        self.channel = channel
        self.collector = collector
    }

    deinit { channel.close(promise: nil) }

    public static func connect(port: Int, caFile: String?, certificateFile: String? = nil, keyFile: String? = nil,
                               serverName: String? = nil) async throws -> TLSTestClient {
        let configuration = try ClientTLS.configuration(caFile: caFile, certificateFile: certificateFile, keyFile: keyFile)
        let context = try ClientTLS.makeContext(configuration)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let collector = LineCollector(eventLoop: loop)
        let channel = try await LineChannel.connect(host: "127.0.0.1", port: port, tls: LineTLS(context: context, serverHostname: serverName),
                                                    on: loop, timeout: .seconds(10)) { try $0.addHandler(collector) }.get()
        return TLSTestClient(channel: channel, collector: collector)
    }

    /// Sends `text` and returns what arrived once `lines` lines have (or the server closed, or
    /// 10 s passed).
    public func exchange(_ text: String, untilLines lines: Int) async throws -> String {
        try await channel.writeAndFlush(ByteBuffer(string: text))
        return try await collector.wait(forLines: lines).get()
    }
}

/// Collects what the server sends; completes a waiter once enough lines are in, or the
/// connection closed. Its state sits behind a lock: the test's task asks, the event loop fills.
private final class LineCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    private struct State {
        var received = ByteBuffer()
        var waiter: (lines: Int, promise: EventLoopPromise<String>)?
        var closed = false
        var error: (any Error)?
    }

    private let eventLoop: any EventLoop
    private let state = NIOLockedValueBox(State())

    init(eventLoop: any EventLoop) { self.eventLoop = eventLoop }

    func wait(forLines lines: Int) -> EventLoopFuture<String> {
        let promise = eventLoop.makePromise(of: String.self)
        state.withLockedValue { $0.waiter = (lines, promise) }
        check()
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var chunk = unwrapInboundIn(data)
        _ = state.withLockedValue { $0.received.writeBuffer(&chunk) }
        check()
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.withLockedValue { $0.closed = true }
        check()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        state.withLockedValue { $0.error = error }
        check()
        context.close(promise: nil)
    }

    private func check() {
        let ready: (EventLoopPromise<String>, Result<String, any Error>)? = state.withLockedValue { state in
            guard let waiter = state.waiter else { return nil }
            if let error = state.error {
                state.waiter = nil
                return (waiter.promise, .failure(error))
            }
            let lines = state.received.readableBytesView.lazy.filter { $0 == UInt8(ascii: "\n") }.count
            guard lines >= waiter.lines || state.closed else { return nil }
            state.waiter = nil
            return (waiter.promise, .success(String(buffer: state.received)))
        }
        if let (promise, result) = ready { promise.completeWith(result) }
    }
}
