import NIOCore
import NIOTLS

/// Closes a connection whose TLS handshake has not completed within `timeout`: a client that
/// opens a socket and stalls mid-handshake holds a connection slot and a TLS session, and
/// should not get to keep them for a whole idle timeout.
public final class TLSHandshakeDeadline: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    private let timeout: Duration
    private var timer: Scheduled<Void>?

    public init(timeout: Duration) { self.timeout = timeout }

    public func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) { channel.close(promise: nil) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent {
            timer?.cancel()
            timer = nil
        }
        context.fireUserInboundEventTriggered(event)
    }
}
