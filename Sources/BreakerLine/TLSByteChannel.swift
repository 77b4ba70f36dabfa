import BreakerSync
import Dispatch
import NIOCore
import NIOPosix

/// TLS through SwiftNIO behind the same blocking calls as `BlockingSocket`: one event-loop
/// thread of its own does the I/O, the caller's thread waits on a semaphore. For callers that
/// block anyway (breakerctl, test threads), never for a task on the cooperative pool.
final class TLSByteChannel: ByteTransport {
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel: any Channel
    private let inbox = Inbox()

    init(host: String, port: Int, tls: LineTLS, timeout: Duration) throws(LineConnectionError) {
        let inbox = self.inbox
        do {
            channel = try LineChannel.connect(host: host, port: port, tls: tls, on: group.next(),
                                              timeout: .nanoseconds(Int64(clamping: timeout.wholeMilliseconds * 1_000_000))) {
                try $0.addHandler(inbox)
            }.wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw LineConnectionError(.connectFailed, "\(error)")
        }
    }

    deinit {
        channel.close(promise: nil)
        try? group.syncShutdownGracefully()
    }

    func send(_ bytes: [UInt8]) throws(LineConnectionError) {
        do {
            try channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).wait()
        } catch {
            throw LineConnectionError(.ioFailed, "send failed: \(inbox.failure ?? "\(error)")")
        }
    }

    func receive(timeout: Duration?) throws(LineConnectionError) -> [UInt8] {
        let deadline = timeout.map { DispatchTime.now() + .milliseconds(Int($0.wholeMilliseconds)) } ?? .distantFuture
        while true {
            switch inbox.take() {
            case .bytes(let bytes): return bytes
            case .closed: return []
            case .failed(let reason): throw LineConnectionError(.ioFailed, reason)
            case .empty:
                if inbox.arrived.wait(timeout: deadline) == .timedOut { throw LineConnectionError(.timedOut, "no reply within the timeout") }
            }
        }
    }
}

/// What the event loop received, handed to the waiting thread: the channel's last handler.
private final class Inbox: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer

    enum Taken { case bytes([UInt8]), closed, failed(String), empty }

    private struct State {
        var bytes: [UInt8] = []
        var closed = false
        var failure: String?
    }

    private let state = Mutex(State())
    /// Signalled on every change; a waiter re-checks `state`, so extra signals are harmless.
    let arrived = DispatchSemaphore(value: 0)

    var failure: String? { state.withLock { $0.failure } }

    func append(_ buffer: ByteBuffer) {
        state.withLock { $0.bytes += buffer.readableBytesView }
        arrived.signal()
    }

    func close(failure: String? = nil) {
        state.withLock { state in
            state.closed = true
            if state.failure == nil { state.failure = failure }
        }
        arrived.signal()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) { append(unwrapInboundIn(data)) }

    func channelInactive(context: ChannelHandlerContext) {
        close()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close(failure: "\(error)")
        context.close(promise: nil)
    }

    /// Bytes first, even after a close: a reply may arrive just before the daemon hangs up.
    func take() -> Taken {
        state.withLock { state in
            if !state.bytes.isEmpty {
                defer { state.bytes.removeAll(keepingCapacity: true) }
                return .bytes(state.bytes)
            }
            if let failure = state.failure { return .failed(failure) }
            return state.closed ? .closed : .empty
        }
    }
}
