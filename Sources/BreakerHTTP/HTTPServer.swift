import BreakerServer
import BreakerTLS
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The HTTP/1.1 listener for metrics and health: small, read-only, and hardened against clients
/// that are not Prometheus or a kubelet: bounded headers, a bounded number of connections, idle
/// connections closed, no request body ever buffered.
public final class HTTPServer: Sendable {
    public struct Configuration: Sendable {
        public var host = "127.0.0.1"
        /// 0 picks a free port (tests); read it back from `localAddress`.
        public var port = 7421
        /// Request line plus headers beyond this are answered 400 and the connection is closed.
        public var maxHeaderBytes = 8 * 1024
        public var maxHeaderFields = 64
        /// Connections beyond this are closed at once; scrapers and probes need a handful.
        public var maxConnections = 256
        /// A connection that sends nothing for this long is closed.
        public var idleTimeout: TimeAmount = .seconds(30)
        /// When set, the listener speaks HTTPS only.
        public var tls: ServerTLS?
        public init() {}
    }

    struct TooManyConnections: Error {}

    public let localAddress: SocketAddress
    private let channel: any Channel
    private let connections: ChannelTracker
    private let endpoints: ObservabilityEndpoints

    private init(channel: any Channel, connections: ChannelTracker, endpoints: ObservabilityEndpoints) {
        self.channel = channel
        self.connections = connections
        self.endpoints = endpoints
        self.localAddress = channel.localAddress!
    }

    /// Binds and starts answering. Connections are spread over `group`'s event loops.
    public static func start(configuration: Configuration, endpoints: ObservabilityEndpoints,
                             group: any EventLoopGroup, logger: Logger) async throws -> HTTPServer {
        let tracker = ChannelTracker()
        let limits = {
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderListSize = configuration.maxHeaderBytes
            limits.maxHeaderFieldSize = configuration.maxHeaderBytes
            limits.maxHeaderFieldCount = configuration.maxHeaderFields
            return limits
        }()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                guard tracker.count < configuration.maxConnections else {
                    return channel.eventLoop.makeFailedFuture(TooManyConnections())
                }
                return channel.eventLoop.makeCompletedFuture {
                    tracker.add(channel)
                    let handlers = channel.pipeline.syncOperations
                    try handlers.addHandler(IdleStateHandler(readTimeout: configuration.idleTimeout))
                    if let tls = configuration.tls { try handlers.addHandlers(tls.makeHandlers()) }
                    try handlers.configureHTTPServerPipeline(
                        withPipeliningAssistance: true, withErrorHandling: true,
                        withEncoderConfiguration: .init(), withDecoderLimitConfiguration: limits)
                    try handlers.addHandler(HTTPHandler(endpoints: endpoints, logger: logger))
                }
            }
            .bind(host: configuration.host, port: configuration.port)
            .get()
        return HTTPServer(channel: channel, connections: tracker, endpoints: endpoints)
    }

    /// Stops accepting, lets each connection finish the response it is writing (NIO's pipelining
    /// handler quiesces: idle connections close at once, busy ones after their response), and
    /// closes whatever is left after `timeout`. Returns how many had to be forced.
    public func shutdownGracefully(timeout: Duration) async -> Int {
        try? await channel.close()
        endpoints.statusPage?.events.endAll()  // event streams never end on their own
        for channel in connections.all {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        return await connections.waitUntilClosed(timeout: timeout)
    }
}
