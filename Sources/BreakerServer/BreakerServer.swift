import BreakerTLS
import BreakerWire
import Logging
import NIOCore
import NIOPosix

/// The TCP listener of protocol v1.
public final class BreakerServer: Sendable {
    public static let version = "0.1.0"

    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        /// 0 picks a free port (tests); read it back from `localAddress`.
        public var port = 7420
        /// Longer lines get `line_too_long` and the connection is closed.
        public var maxLineLength = 65_536
        /// Replies a connection may have outstanding before the daemon stops reading from it.
        public var maxInFlightPerConnection = 1024
        /// Connections beyond this get `overloaded` and are closed.
        public var maxConnections = 10_000
        /// A connection that sends nothing for this long is closed, unless it is watching.
        /// nil: never.
        public var idleTimeout: TimeAmount? = .seconds(300)
        /// When set, admin changes need a connection authenticated with one of these tokens.
        public var adminTokens: AdminTokens?
        /// When set, every connection speaks TLS (and, with a client CA, must present a
        /// certificate); plain-text clients fail the handshake and are closed.
        public var tls: ServerTLS?
        public init() {}
    }

    public let localAddress: SocketAddress
    private let channel: any Channel
    /// Open connections, for `shutdownGracefully`.
    let connections: ChannelTracker

    private init(channel: any Channel, connections: ChannelTracker) {
        self.channel = channel
        self.connections = connections
        self.localAddress = channel.localAddress!
    }

    /// Binds and starts accepting. Connections are spread over `group`'s event loops.
    public static func start(configuration: Configuration, registry: BreakerRegistry,
                             group: any EventLoopGroup, logger: Logger) async throws -> BreakerServer {
        let connections = ConnectionCounter(limit: configuration.maxConnections, metrics: registry.metrics)
        let tracker = ChannelTracker()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: 32 * 1024, high: 256 * 1024))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    tracker.add(channel)
                    let handlers = channel.pipeline.syncOperations
                    if let idle = configuration.idleTimeout {
                        try handlers.addHandler(IdleStateHandler(readTimeout: idle))
                    }
                    if let tls = configuration.tls {
                        // First in the pipeline: TLS, then a deadline for its handshake.
                        try handlers.addHandlers(tls.makeHandlers())
                    }
                    try handlers.addHandler(NIOConnectionAdapter(ConnectionHandler(
                        registry: registry, connections: connections, adminTokens: configuration.adminTokens,
                        maxLineLength: configuration.maxLineLength,
                        maxInFlight: configuration.maxInFlightPerConnection, logger: logger)))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        return BreakerServer(channel: channel, connections: tracker)
    }

    /// Stops accepting new connections; open ones finish on their own.
    public func stop() async {
        try? await channel.close()
    }
}
