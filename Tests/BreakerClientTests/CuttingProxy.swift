import BreakerTestSupport
import NIOCore
import NIOPosix
import BreakerSync
import struct Synchronization.Atomic

/// A line-forwarding TCP proxy on 127.0.0.1 in front of a real daemon, which can lose the
/// replies to records: from a reply to a record on, it passes nothing more to the client, and
/// once the daemon has answered every request forwarded so far it closes both sides. That is
/// the case dedupe exists for — the daemon has committed and counted every record, the client
/// never heard so — and a network fault a test can make exactly.
final class CuttingProxy: Sendable {
    enum Mode: Sendable {
        case forward
        /// Cut at the next reply to a record (one connection), then forward again.
        case cutNextRecordReply
        /// Cut at every reply to a record: no record is ever acknowledged.
        case cutEveryRecordReply
    }

    /// Shared by every proxied connection.
    final class Control: Sendable {
        let mode = Mutex(Mode.forward)
        /// Record replies the daemon sent that a cut kept from the client.
        let swallowed = Atomic<Int>(0)
        /// Where new connections go.
        let upstreamPort: Atomic<Int>
        /// Every request line passed to the daemon, in the order passed (all connections).
        let forwarded = Mutex<[String]>([])

        init(upstreamPort: Int) { self.upstreamPort = Atomic(upstreamPort) }

        func shouldCut() -> Bool {
            mode.withLock { mode in
                switch mode {
                case .forward: return false
                case .cutEveryRecordReply: return true
                case .cutNextRecordReply:
                    mode = .forward
                    return true
                }
            }
        }
    }

    let control: Control
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    var port: Int { channel.localAddress!.port! }
    var swallowed: Int { control.swallowed.load(ordering: .sequentiallyConsistent) }
    /// The request lines passed to the daemon so far.
    var forwarded: [String] { control.forwarded.withLock { $0 } }

    init(upstreamPort: Int) async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let control = Control(upstreamPort: upstreamPort)
        self.control = control
        self.group = group
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TextLines()))
                    try channel.pipeline.syncOperations.addHandler(ClientSide(control: control))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
    }

    func set(_ mode: Mode) { control.mode.withLock { $0 = mode } }

    /// Sends connections made from now on to another daemon.
    func redirect(toPort port: Int) { control.upstreamPort.store(port, ordering: .sequentiallyConsistent) }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }
}

/// The client's side of one proxied connection; owns the session. Both sides live on the
/// client channel's event loop, so nothing here is shared across threads.
private final class ClientSide: ChannelInboundHandler {
    typealias InboundIn = String
    let control: CuttingProxy.Control
    var client: (any Channel)?
    var upstream: (any Channel)?
    var waiting: [String] = []
    /// Per request forwarded and not yet answered: whether it was a record.
    var requests = CircularBuffer<Bool>()
    /// Swallowing replies until every forwarded request is answered, then closing.
    var cutting = false
    var cut = false

    init(control: CuttingProxy.Control) { self.control = control }

    func channelActive(context: ChannelHandlerContext) {
        client = context.channel
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        ClientBootstrap(group: context.eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TextLines()))
                    try channel.pipeline.syncOperations.addHandler(DaemonSide(session: bound.value))
                }
            }
            .connect(host: "127.0.0.1", port: control.upstreamPort.load(ordering: .sequentiallyConsistent))
            .whenComplete { result in
                let session = bound.value
                guard case .success(let upstream) = result, !session.cut else {
                    session.closeBoth()
                    return
                }
                session.upstream = upstream
                for line in session.waiting { session.send(line, to: upstream) }
                session.waiting = []
            }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        guard !cut, !cutting else { return }
        requests.append(line.contains(#""op":"record-"#))
        if let upstream { send(line, to: upstream) } else { waiting.append(line) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeBoth()
        context.fireChannelInactive()
    }

    /// A line from the daemon: an event passes; a reply passes unless it answers a record
    /// and the proxy is cutting.
    func fromDaemon(_ line: String) {
        guard !cut, let client else { return }
        if line.contains(#""ok":"#) {
            let isRecord = requests.popFirst() ?? false
            if isRecord, !cutting, control.shouldCut() { cutting = true }
            if cutting {
                if isRecord { control.swallowed.add(1, ordering: .sequentiallyConsistent) }
                if requests.isEmpty { closeBoth() }
                return
            }
        }
        guard !cutting else { return }
        send(line, to: client)
    }

    func send(_ line: String, to channel: any Channel) {
        if channel === upstream { control.forwarded.withLock { $0.append(line) } }
        channel.writeAndFlush(channel.allocator.buffer(string: line + "\n"), promise: nil)
    }

    func closeBoth() {
        cut = true
        client?.close(promise: nil)
        upstream?.close(promise: nil)
    }
}

private final class DaemonSide: ChannelInboundHandler {
    typealias InboundIn = String
    let session: ClientSide

    init(session: ClientSide) { self.session = session }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        session.fromDaemon(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.closeBoth()
        context.fireChannelInactive()
    }
}
