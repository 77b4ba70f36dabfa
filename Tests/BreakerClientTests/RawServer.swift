import BreakerTestSupport
import NIOCore
import NIOPosix

/// A TCP server on 127.0.0.1 that is not breakerd: it answers every line the way `behavior`
/// says, so tests can point a client at a daemon that talks garbage or never answers.
final class RawServer: Sendable {
    enum Behavior: Sendable {
        /// Replies with bytes that are not JSON.
        case junk
        /// Replies with JSON of the wrong shape (a decision with `"allow":"maybe"`).
        case wrongShape
        /// Acknowledges `watch` properly, then never answers anything else.
        case acceptWatchThenSilent
        /// Reads and never answers.
        case silent
    }

    let group: MultiThreadedEventLoopGroup
    let channel: any Channel
    var port: Int { channel.localAddress!.port! }

    init(_ behavior: Behavior) async throws {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TextLines()))
                    try channel.pipeline.syncOperations.addHandler(Answerer(behavior: behavior))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
    }

    func stop() async {
        try? await channel.close()
        try? await group.shutdownGracefully()
    }

    private final class Answerer: ChannelInboundHandler {
        typealias InboundIn = String
        typealias OutboundOut = ByteBuffer
        let behavior: Behavior
        init(behavior: Behavior) { self.behavior = behavior }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let line = unwrapInboundIn(data)
            let id = line.split(separator: #""id":"#).last.map { $0.prefix { $0.isNumber } } ?? "0"
            let reply: String?
            switch behavior {
            case .junk: reply = "}{ this is not JSON \u{7}"
            case .wrongShape: reply = #"{"ok":true,"id":\#(id),"allow":"maybe","state":"closed","generation":1,"cache_ms":100}"#
            case .acceptWatchThenSilent: reply = line.contains(#""op":"watch""#) ? #"{"ok":true,"id":\#(id)}"# : nil
            case .silent: reply = nil
            }
            guard let reply else { return }
            context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: reply + "\n")), promise: nil)
        }
    }
}

/// A port on 127.0.0.1 with nothing listening (bound, then closed).
func unusedPort() async throws -> Int {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    let channel = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress!.port!
    try await channel.close()
    try await group.shutdownGracefully()
    return port
}
