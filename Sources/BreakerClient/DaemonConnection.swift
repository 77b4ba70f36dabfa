import BreakerCore
import BreakerLine
import BreakerWire
import NIOCore
import struct Synchronization.Atomic

/// One request on its way out, with the promise its reply fulfils.
struct OutboundRequest: Sendable {
    var command: Command
    var promise: EventLoopPromise<Reply>
    var timeout: TimeAmount
}

/// One TCP connection to breakerd. Requests are pipelined; replies are matched to them in
/// order (and by echoed `id`), pushed events go to `onEvent`. Anything the protocol does not
/// allow, or a reply later than its timeout, closes the connection and fails every request
/// outstanding on it: a connection that lied or stalled once cannot be trusted with the next
/// reply, and a fresh one costs a round trip.
final class DaemonConnection: Sendable {
    let channel: any Channel
    private let activity: ReadActivity
    /// The daemon this connection goes to.
    let endpoint: BreakerClient.Endpoint

    private init(channel: any Channel, activity: ReadActivity, endpoint: BreakerClient.Endpoint) {
        self.channel = channel
        self.activity = activity
        self.endpoint = endpoint
    }

    /// Connects (`LineChannel`: with `tls` the handshake completes before this returns), so a
    /// connection is only handed out once requests can be sent on it.
    static func connect(host: String, port: Int, tls: LineTLS?, group: any EventLoopGroup, connectTimeout: TimeAmount,
                        maxLineLength: Int, onEvent: @escaping @Sendable (Event) -> Void,
                        onViolation: @escaping @Sendable (String) -> Void) async throws -> DaemonConnection {
        let activity = ReadActivity()
        let channel = try await LineChannel.connect(host: host, port: port, tls: tls, on: group.next(), timeout: connectTimeout) {
            try $0.addHandler(ByteToMessageHandler(LineSplitter(maxLength: maxLineLength)))
            try $0.addHandler(ReplyHandler(onEvent: onEvent, onViolation: onViolation, activity: activity))
        }.get()
        return DaemonConnection(channel: channel, activity: activity, endpoint: BreakerClient.Endpoint(host: host, port: port))
    }

    /// Pings the daemon only after `silence` without a line from it: a connection carrying
    /// replies, or a watch stream's heartbeats, proves the daemon alive and is never pinged. A
    /// ping not answered within `timeout` closes the connection (the reply handler's timeout).
    /// Runs on the connection's event loop until the connection closes.
    func keepAlive(silence: TimeAmount, timeout: TimeAmount) {
        keepAlive(at: .now() + silence, silence: UInt64(max(1, silence.nanoseconds)), timeout: timeout)
    }

    private func keepAlive(at due: NIODeadline, silence: UInt64, timeout: TimeAmount) {
        channel.eventLoop.scheduleTask(deadline: due) { [self] in
            guard isActive else { return }
            let now = NIODeadline.now().uptimeNanoseconds
            let last = activity.lastRead.load(ordering: .relaxed)
            if now &- last >= silence {
                _ = send(.ping, timeout: timeout)
                keepAlive(at: .uptimeNanoseconds(now &+ silence), silence: silence, timeout: timeout)
            } else {
                keepAlive(at: .uptimeNanoseconds(last &+ silence), silence: silence, timeout: timeout)
            }
        }
    }

    var isActive: Bool { channel.isActive }

    /// Sends one request; the future fails with a `BreakerClientError` when the daemon answers
    /// with an error, or the connection fails or times out first.
    func send(_ command: Command, timeout: TimeAmount) -> EventLoopFuture<Reply> {
        let promise = channel.eventLoop.makePromise(of: Reply.self)
        let written = channel.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { _ in
            promise.fail(BreakerClientError(.connectionClosed, "the connection to breakerd is closed"))
        }
        channel.writeAndFlush(OutboundRequest(command: command, promise: promise, timeout: timeout), promise: written)
        return promise.futureResult
    }

    /// Sends several requests with one hop to the event loop and one flush.
    func send(batch: [Command], timeout: TimeAmount) -> [EventLoopFuture<Reply>] {
        let loop = channel.eventLoop
        let promises = batch.map { _ in loop.makePromise(of: Reply.self) }
        let channel = self.channel
        loop.execute {
            for (command, promise) in zip(batch, promises) {
                let written = loop.makePromise(of: Void.self)
                written.futureResult.whenFailure { _ in
                    promise.fail(BreakerClientError(.connectionClosed, "the connection to breakerd is closed"))
                }
                channel.write(OutboundRequest(command: command, promise: promise, timeout: timeout), promise: written)
            }
            channel.flush()
        }
        return promises.map(\.futureResult)
    }

    func close() {
        channel.close(promise: nil)
    }

    /// Completes when the connection is closed, whoever closed it.
    var closed: EventLoopFuture<Void> { channel.closeFuture }
}

/// When a connection last heard from the daemon (`NIODeadline` uptime, ns), written by its
/// reply handler on every line, read by its keepalive.
final class ReadActivity: Sendable {
    let lastRead = Atomic<UInt64>(NIODeadline.now().uptimeNanoseconds)

    func heard() { lastRead.store(NIODeadline.now().uptimeNanoseconds, ordering: .relaxed) }
}

/// Matches replies to requests and hands events on. Lives on its channel's event loop.
final class ReplyHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = OutboundRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        var id: Int64
        var kind: ReplyKind
        var promise: EventLoopPromise<Reply>
        var timer: Scheduled<Void>
    }

    private var pending = CircularBuffer<Pending>()
    private var nextID: Int64 = 1
    private var failed = false
    private let onEvent: @Sendable (Event) -> Void
    private let onViolation: @Sendable (String) -> Void
    private let activity: ReadActivity

    init(onEvent: @escaping @Sendable (Event) -> Void, onViolation: @escaping @Sendable (String) -> Void,
         activity: ReadActivity) {
        self.onEvent = onEvent
        self.onViolation = onViolation
        self.activity = activity
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        guard !failed else {
            request.promise.fail(BreakerClientError(.connectionClosed, "the connection to breakerd is closed"))
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        let id = nextID
        nextID += 1
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let timer = context.eventLoop.scheduleTask(in: request.timeout) {
            let (handler, context) = bound.value
            handler.timedOut(id, context: context)
        }
        pending.append(Pending(id: id, kind: request.command.replyKind, promise: request.promise, timer: timer))
        let bytes = RequestEncoder.encode(Request(id: .int(id), command: request.command))
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        activity.heard()
        let line = unwrapInboundIn(data)
        let expected = pending.first?.kind
        let decoded = line.withUnsafeReadableBytes { bytes in
            Result { () throws(ReplyDecodingError) -> DaemonMessage in try ReplyDecoder.decode(bytes, expecting: expected) }
        }
        switch decoded {
        case .failure(let error):
            violation(error.message, context: context)
        case .success(.event(let event)):
            onEvent(event)
        case .success(.unknownEvent):
            break
        case .success(.reply(let id, let reply)):
            guard let head = takeHead(id: id, context: context) else { return }
            head.promise.succeed(reply)
        case .success(.error(let id, let error)):
            if id == nil, pending.isEmpty {
                // `overloaded` on connect, or `line_too_long`: the daemon is closing on us.
                fail(BreakerClientError(error), context: context)
                return
            }
            guard let head = takeHead(id: id ?? .int(pending.first?.id ?? 0), context: context) else { return }
            head.promise.fail(BreakerClientError(error))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(BreakerClientError(.connectionClosed, "breakerd closed the connection"), context: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is LineSplitter.LineTooLong || error is ByteToMessageDecoderError {
            violation("a line from breakerd is longer than the limit", context: context)
        } else {
            fail(BreakerClientError(.connectionClosed, "connection error: \(error)"), context: context)
        }
    }

    private func takeHead(id: JSONValue?, context: ChannelHandlerContext) -> Pending? {
        guard let head = pending.first else {
            violation("a reply arrived with no request outstanding", context: context)
            return nil
        }
        guard id == .int(head.id) else {
            violation("a reply carries id \(id.map { "\($0)" } ?? "none") where \(head.id) was expected", context: context)
            return nil
        }
        pending.removeFirst()
        head.timer.cancel()
        return head
    }

    private func timedOut(_ id: Int64, context: ChannelHandlerContext) {
        guard !failed, pending.contains(where: { $0.id == id }) else { return }
        fail(BreakerClientError(.timedOut, "breakerd did not answer in time"), context: context)
    }

    private func violation(_ message: String, context: ChannelHandlerContext) {
        onViolation(message)
        fail(BreakerClientError(.protocolViolation, "breakerd sent something protocol v1 does not allow: \(message)"), context: context)
    }

    /// Fails everything outstanding and closes; later writes fail at once.
    private func fail(_ error: BreakerClientError, context: ChannelHandlerContext?) {
        failed = true
        let outstanding = pending
        pending.removeAll()
        for request in outstanding {
            request.timer.cancel()
            request.promise.fail(error)
        }
        context?.close(promise: nil)
    }
}
