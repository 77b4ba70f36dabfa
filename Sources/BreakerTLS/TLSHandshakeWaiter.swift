import NIOCore
import NIOSSL
import NIOTLS

/// Completes `handshake` when the TLS handshake does, or fails it with the reason the
/// connection ended first. Clients wait on it before using a connection, so a certificate
/// problem is reported as that (and once) instead of as a connection that closed mysteriously
/// on the first request.
public final class TLSHandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer

    private let promise: EventLoopPromise<Void>

    /// Completes `promise`. Made before the connection exists (`connect(to:)`), so the caller
    /// holds the outcome even when the handshake fails before the pipeline could be asked.
    public init(completing promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    /// Connects with `bootstrap` (whose initializer must add the TLS handler and `waiter`), then
    /// waits for the handshake, bounded by `timeout`. Throws `TLSHandshakeFailure` when the
    /// handshake fails, and the connection error when TCP does.
    public static func connect(
        on eventLoop: any EventLoop, timeout: TimeAmount,
        _ connect: (_ handshake: EventLoopPromise<Void>) -> EventLoopFuture<any Channel>
    ) async throws -> any Channel {
        let handshake = eventLoop.makePromise(of: Void.self)
        let channel: any Channel
        do {
            channel = try await connect(handshake).get()
        } catch {
            handshake.fail(error)
            throw error
        }
        let timer = eventLoop.scheduleTask(in: timeout) {
            handshake.fail(TLSHandshakeFailure(reason: "no TLS handshake within \(timeout.nanoseconds / 1_000_000) ms"))
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        do {
            try await handshake.futureResult.get()
            return channel
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .handshakeCompleted = event as? TLSUserEvent { promise.succeed(()) }
        context.fireUserInboundEventTriggered(event)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(TLSHandshakeFailure(error))
        context.fireErrorCaught(error)
    }

    public func channelInactive(context: ChannelHandlerContext) {
        promise.fail(TLSHandshakeFailure(reason: "the daemon closed the connection during the TLS handshake (is it listening with TLS?)"))
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        promise.fail(TLSHandshakeFailure(reason: "the connection was torn down during the TLS handshake"))
    }
}

/// A TLS handshake that did not complete, with a reason a person can act on.
public struct TLSHandshakeFailure: Error, Sendable, CustomStringConvertible {
    public var reason: String

    public init(reason: String) { self.reason = reason }

    init(_ error: any Error) {
        let text = "\(error)"
        if text.contains("CERTIFICATE_VERIFY_FAILED") {
            reason = "the daemon's certificate is not trusted (give the CA that signed it) — \(text)"
        } else if text.contains("CERTIFICATE_REQUIRED") || text.contains("HANDSHAKE_FAILURE_ON_CLIENT_HELLO") {
            reason = "the daemon asks for a client certificate (mutual TLS) — \(text)"
        } else if text.contains("WRONG_VERSION_NUMBER") || text.contains("PACKET_LENGTH_TOO_LONG") {
            reason = "the daemon did not answer in TLS (is it listening without TLS?) — \(text)"
        } else if (error as? NIOSSLExtraError) == .failedToValidateHostname {
            reason = "the daemon's certificate is not for this host name or address — \(text)"
        } else {
            reason = "TLS handshake failed: \(text)"
        }
    }

    public var description: String { reason }
}

/// Whether `error` came from TLS (a failed handshake, a bad record): worth counting apart from
/// ordinary resets, because a burst of them means a misconfigured client or a probe.
public func isTLSFailure(_ error: any Error) -> Bool {
    error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError
}
