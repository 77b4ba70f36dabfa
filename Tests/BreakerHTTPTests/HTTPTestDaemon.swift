import BreakerCore
import BreakerHTTP
import BreakerServer
import BreakerStore
import BreakerTestSupport
import Foundation
import Logging
import NIOCore
import NIOPosix

/// A registry, a protocol server and the HTTP listener on 127.0.0.1 ports chosen by the kernel,
/// over a real SQLite file in a fresh temp folder.
final class HTTPTestDaemon {
    let directory: String
    let group: MultiThreadedEventLoopGroup
    let registry: BreakerRegistry
    let server: BreakerServer
    let http: HTTPServer
    let readiness: Readiness
    let endpoints: ObservabilityEndpoints

    var port: Int { server.localAddress.port! }
    var httpPort: Int { http.localAddress.port! }

    /// `statusPage`: the status page's settings (admin tokens); nil serves no page (`--no-ui`).
    init(settings: BreakerRegistry.Settings = .init(), maxMetricSeries: Int = 100_000, daemonMetrics: @escaping @Sendable () -> [UInt8] = { [] },
         clock: ManualClock? = nil, statusPage: StatusPageSettings? = nil, adminTokens: AdminTokens? = nil,
         configure: (inout HTTPServer.Configuration) -> Void = { _ in }) async throws {
        directory = NSTemporaryDirectory() + "breakerd-http-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var logger = Logger(label: "test")
        logger.logLevel = .error
        group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let database = try BreakerDatabase(path: directory + "/breakerd.sqlite3", logger: logger)
        registry = try BreakerRegistry(storage: database, settings: settings,
                                       clock: clock ?? SystemClock(timers: group.next()), logger: logger)
        var configuration = BreakerServer.Configuration()
        configuration.port = 0
        configuration.adminTokens = adminTokens
        server = try await BreakerServer.start(configuration: configuration, registry: registry, group: group, logger: logger)
        readiness = Readiness(listeners: ["protocol", "http"])
        readiness.markBound("protocol")
        var httpConfiguration = HTTPServer.Configuration()
        httpConfiguration.port = 0
        configure(&httpConfiguration)
        endpoints = ObservabilityEndpoints(registry: registry, readiness: readiness, maxMetricSeries: maxMetricSeries,
                                           statusPage: statusPage, daemonMetrics: daemonMetrics)
        http = try await HTTPServer.start(configuration: httpConfiguration, endpoints: endpoints, group: group, logger: logger)
        readiness.markBound("http")
    }

    func client() throws -> LineClient { try LineClient(port: port) }

    func get(_ path: String, method: String = "GET") throws -> HTTPTestClient.Response {
        try HTTPTestClient.get(path, port: httpPort, method: method)
    }

    func stop() async {
        _ = await http.shutdownGracefully(timeout: .seconds(1))
        _ = await server.shutdownGracefully(timeout: .seconds(1))
        registry.shutdown()
        try? await group.shutdownGracefully()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// Runs `body` against a fresh daemon and always stops it.
func withHTTPDaemon<T>(settings: BreakerRegistry.Settings = .init(), maxMetricSeries: Int = 100_000,
                       daemonMetrics: @escaping @Sendable () -> [UInt8] = { [] }, clock: ManualClock? = nil,
                       statusPage: StatusPageSettings? = nil, adminTokens: AdminTokens? = nil,
                       _ body: (HTTPTestDaemon) async throws -> T) async throws -> T {
    let daemon = try await HTTPTestDaemon(settings: settings, maxMetricSeries: maxMetricSeries, daemonMetrics: daemonMetrics,
                                          clock: clock, statusPage: statusPage, adminTokens: adminTokens)
    do {
        let result = try await body(daemon)
        await daemon.stop()
        return result
    } catch {
        await daemon.stop()
        throw error
    }
}
