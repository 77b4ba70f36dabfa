import BreakerTLS
import NIOCore

/// Serves a `ConnectionHandler` over a NIO channel: the transport for TLS connections (and for
/// plain ones when `Configuration.io` is `.nio`). Translates channel events into the handler's
/// events and its writes into channel writes.
final class NIOConnectionAdapter: ChannelInboundHandler, ConnectionTransport {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let handler: ConnectionHandler
    private var context: ChannelHandlerContext?
    private(set) var executor: any ConnectionExecutor = NotAttached()
    /// A channel has no end-of-turn hook for its event loop: a read's commits go at once.
    let commits = CommitCoalescer(.immediate)
    /// Closing after the last reply (see `ClosingLinger`).
    private var linger: ClosingLinger
    /// The peer half-closed: a closing connection then needs no linger.
    private var inputEnded = false

    init(_ handler: ConnectionHandler, linger: Duration) {
        self.handler = handler
        self.linger = ClosingLinger(duration: linger)
    }

    // MARK: Channel events → the handler

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        executor = EventLoopExecutor(eventLoop: context.eventLoop)
    }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelActive(context: ChannelHandlerContext) {
        handler.activate(self)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        handler.deactivate()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !linger.dropsInput else { return }  // dropped: the connection is closing
        handler.received(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) { handler.readComplete() }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        handler.writabilityChanged()
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(.read) = event as? IdleStateHandler.IdleStateEvent {
            handler.idle()
            return
        }
        if case .some(.inputClosed) = event as? ChannelEvent {
            inputEnded = true
            if linger.peerClosed() == .close {
                context.close(promise: nil)  // the peer is done too
                return
            }
            handler.inputClosed()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { handler.failed(error) }

    // MARK: ConnectionTransport: the handler's writes → the channel

    var isWritable: Bool { context?.channel.isWritable ?? false }

    func write(_ buffer: ByteBuffer) { context?.write(wrapOutboundOut(buffer), promise: nil) }

    func flush() { context?.flush() }

    func closeAfterFlush() {
        guard let context else { return }
        let channel = context.channel
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0))).whenComplete { _ in
            bound.value.linger(channel)
        }
    }

    /// FIN and drain, as `ClosingLinger` says.
    private func linger(_ channel: any Channel) {
        let now = NIODeadline.now().uptimeNanoseconds
        switch linger.lastReplyWritten(peerInputEnded: inputEnded, now: now) {
        case .close: channel.close(promise: nil)
        case .shutOutputAndDrain(let deadline):
            channel.close(mode: .output).whenFailure { _ in channel.close(promise: nil) }
            if let options = channel.syncOptions { try? options.setOption(.autoRead, value: true) }
            channel.read()
            let bound = NIOLoopBound(self, eventLoop: channel.eventLoop)
            channel.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(deadline)) {
                if bound.value.linger.tick(now: deadline) == .close { channel.close(promise: nil) }
            }
        case .none: break
        }
    }

    func close() { context?.close(promise: nil) }

    func setReading(_ enabled: Bool) {
        guard !linger.dropsInput, let context, let options = context.channel.syncOptions else { return }
        try? options.setOption(.autoRead, value: enabled)
        if enabled { context.read() }
    }

    var peerDescription: String { context?.remoteAddress.map { "\($0)" } ?? "?" }

    /// Stands in before `handlerAdded`; the handler uses the executor only once active.
    private struct NotAttached: ConnectionExecutor {
        func execute(_ work: @escaping @Sendable () -> Void) { preconditionFailure("connection not attached to a channel") }
    }
}
