import BreakerTLS
import BreakerWire
import Logging
import NIOCore
import NIOPosix

/// The TCP listener of protocol v1.
public final class BreakerServer: Sendable {
    public static let version = "0.1.0"

    /// What carries plain-TCP connections. TLS connections always go through NIO.
    public enum IO: String, Sendable, CaseIterable {
        /// The daemon's own epoll loops (`EpollServer`), one per thread of the group: the fast
        /// path, and the default on Linux.
        case epoll
        /// NIO channels on the group's event loops.
        case nio

        #if os(Linux)
        public static let platformDefault = IO.epoll
        #else
        public static let platformDefault = IO.nio
        #endif
    }

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
        /// Watermarks, backlog, linger and idle timeout, for either transport.
        public var transport = TransportPolicy()
        /// When set, admin changes need a connection authenticated with one of these tokens.
        public var adminTokens: AdminTokens?
        /// When set, every connection speaks TLS (and, with a client CA, must present a
        /// certificate); plain-text clients fail the handshake and are closed.
        public var tls: ServerTLS?
        /// Ignored (NIO) when `tls` is set or the platform has no epoll.
        public var io = IO.platformDefault
        public init() {}
    }

    enum Listener: Sendable {
        case nio(any Channel, ChannelTracker)
        #if os(Linux)
        case epoll(EpollServer)
        #endif
    }

    public let localAddress: SocketAddress
    let listener: Listener

    /// Which transport serves the connections (`.nio` whenever TLS is on).
    public var io: IO {
        switch listener {
        case .nio: return .nio
        #if os(Linux)
        case .epoll: return .epoll
        #endif
        }
    }

    private init(localAddress: SocketAddress, listener: Listener) {
        self.localAddress = localAddress
        self.listener = listener
    }

    /// Binds and starts accepting. Connections are spread over `group`'s event loops, or over
    /// as many epoll loops of our own as the group has threads.
    public static func start(configuration: Configuration, registry: BreakerRegistry,
                             group: any EventLoopGroup, logger: Logger) async throws -> BreakerServer {
        try await start(configuration: configuration, serving: ServingRegistry(registry), group: group, logger: logger)
    }

    /// `start` for a daemon whose registry changes (see `ServingRegistry`): each connection
    /// takes the registry serving when it is accepted. Every registry must share one
    /// `ServerMetrics`.
    public static func start(configuration: Configuration, serving: ServingRegistry,
                             group: any EventLoopGroup, logger: Logger) async throws -> BreakerServer {
        let connections = ConnectionCounter(limit: configuration.maxConnections, metrics: serving.registry.metrics)
        let makeHandler: @Sendable () -> ConnectionHandler = {
            ConnectionHandler(registry: serving.registry, connections: connections, adminTokens: configuration.adminTokens,
                              maxLineLength: configuration.maxLineLength,
                              maxInFlight: configuration.maxInFlightPerConnection, logger: logger)
        }
        #if os(Linux)
        if configuration.io == .epoll, configuration.tls == nil {
            let threads = group.makeIterator().reduce(0) { count, _ in count + 1 }
            let server = try EpollServer.start(configuration: configuration, threads: threads, connections: connections,
                                               logger: logger, makeHandler: makeHandler)
            return BreakerServer(localAddress: server.localAddress, listener: .epoll(server))
        }
        #endif
        let tracker = ChannelTracker()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: configuration.transport.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelOption(.writeBufferWaterMark, value: .init(low: configuration.transport.lowWater,
                                                                   high: configuration.transport.highWater))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    tracker.add(channel)
                    let handlers = channel.pipeline.syncOperations
                    if let idle = configuration.transport.idleTimeout {
                        try handlers.addHandler(IdleStateHandler(readTimeout: .nanoseconds(Int64(idle.nanosecondsClamped))))
                    }
                    if let tls = configuration.tls {
                        // First in the pipeline: TLS, then a deadline for its handshake.
                        try handlers.addHandlers(tls.makeHandlers())
                    }
                    try handlers.addHandler(NIOConnectionAdapter(makeHandler(), linger: configuration.transport.linger))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        return BreakerServer(localAddress: channel.localAddress!, listener: .nio(channel, tracker))
    }

    /// Closes every open connection served by `registry`, replies owed or not, and keeps
    /// accepting: when the daemon's role changes (see `ServingRegistry`), a connection must not
    /// outlive the registry it was served by (its watch subscriptions, its permits). Clients
    /// reconnect and meet the new role; connections accepted since the swap are left alone.
    public func closeConnections(servedBy registry: BreakerRegistry) async {
        switch listener {
        case .nio(_, let tracker):
            for channel in tracker.all {
                channel.eventLoop.execute {
                    let adapter = try? channel.pipeline.syncOperations.handler(type: NIOConnectionAdapter.self)
                    if adapter?.handler.registry === registry { channel.close(promise: nil) }
                }
            }
        #if os(Linux)
        case .epoll(let server):
            await server.closeConnections(servedBy: registry)
        #endif
        }
    }

    /// Stops accepting and closes every open connection at once, replies owed or not (see
    /// `shutdownGracefully` for the orderly way).
    public func stop() async {
        switch listener {
        case .nio(let channel, let tracker):
            try? await channel.close()
            for connection in tracker.all { connection.close(promise: nil) }
        #if os(Linux)
        case .epoll(let server):
            await server.stop()
        #endif
        }
    }
}
