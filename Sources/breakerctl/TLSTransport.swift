import BreakerTLS
import Dispatch
import NIOCore
import NIOPosix
import NIOSSL
import BreakerSync

/// TLS through SwiftNIO and BoringSSL, behind the same blocking calls as `SocketTransport`:
/// one event loop thread does the I/O, the command's thread waits on a semaphore.
final class TLSTransport: AdminTransport {
    private let address: String
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel: any Channel
    private let inbox = Inbox()

    init(host: String, port: Int, settings: TLSOptions.Settings, timeoutMs: Int64) throws {
        let address = "\(host):\(port)"
        self.address = address
        let context: NIOSSLContext
        do throws(TLSSetupError) {
            let configuration = try ClientTLS.configuration(caFile: settings.caFile, certificateFile: settings.certificateFile,
                                                            keyFile: settings.keyFile)
            context = try ClientTLS.makeContext(configuration)
        } catch {
            try? group.syncShutdownGracefully()
            throw CtlError.usage(error.message)
        }
        let serverHostname = ClientTLS.serverHostname(host: host, override: settings.serverName)
        let inbox = self.inbox
        let loop = group.next()
        do {
            channel = try Self.connect(on: loop, timeoutMs: timeoutMs) { handshake in
                ClientBootstrap(group: loop)
                    .connectTimeout(.milliseconds(timeoutMs))
                    .channelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            let handlers = channel.pipeline.syncOperations
                            try handlers.addHandler(NIOSSLClientHandler(context: context, serverHostname: serverHostname))
                            try handlers.addHandler(TLSHandshakeWaiter(completing: handshake))
                            try handlers.addHandler(InboxHandler(inbox: inbox))
                        }
                    }
                    .connect(host: host, port: port)
            }
        } catch {
            try? group.syncShutdownGracefully()
            throw CtlError.unreachable(address, "\(error)")
        }
    }

    /// The blocking twin of `TLSHandshakeWaiter.connect`: breakerctl's commands are synchronous.
    private static func connect(on loop: any EventLoop, timeoutMs: Int64,
                                _ open: (EventLoopPromise<Void>) -> EventLoopFuture<any Channel>) throws -> any Channel {
        let handshake = loop.makePromise(of: Void.self)
        let channel: any Channel
        do {
            channel = try open(handshake).wait()
        } catch {
            handshake.fail(error)
            throw error
        }
        let timer = loop.scheduleTask(in: .milliseconds(timeoutMs)) {
            handshake.fail(TLSHandshakeFailure(reason: "no TLS handshake within \(timeoutMs) ms"))
            channel.close(promise: nil)
        }
        defer { timer.cancel() }
        do {
            try handshake.futureResult.wait()
            return channel
        } catch {
            channel.close(promise: nil)
            throw error
        }
    }

    deinit { shutdown() }

    private func shutdown() {
        channel.close(promise: nil)
        try? group.syncShutdownGracefully()
    }

    func send(_ bytes: [UInt8]) throws {
        do {
            try channel.writeAndFlush(channel.allocator.buffer(bytes: bytes)).wait()
        } catch {
            throw CtlError.unreachable(address, "send failed: \(inbox.failure ?? "\(error)")")
        }
    }

    func receive(timeoutMs: Int64?) throws -> [UInt8] {
        let deadline = timeoutMs.map { DispatchTime.now() + .milliseconds(Int($0)) } ?? .distantFuture
        while true {
            switch inbox.take() {
            case .bytes(let bytes): return bytes
            case .closed: return []
            case .failed(let reason): throw CtlError.unreachable(address, reason)
            case .empty:
                if inbox.arrived.wait(timeout: deadline) == .timedOut {
                    throw CtlError.unreachable(address, "no reply within the timeout")
                }
            }
        }
    }
}

/// What the event loop received, handed to the waiting command thread.
private final class Inbox: Sendable {
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

private final class InboxHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let inbox: Inbox

    init(inbox: Inbox) { self.inbox = inbox }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        inbox.append(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.close()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        inbox.close(failure: "\(error)")
        context.close(promise: nil)
    }
}
