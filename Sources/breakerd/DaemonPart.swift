import Logging
import ServiceLifecycle

/// One part of breakerd as a swift-service-lifecycle `Service`: it runs `onStart`, waits for the
/// graceful shutdown SIGTERM/SIGINT trigger, then stops its part with `onShutdown`.
///
/// `ServiceGroup` shuts services down one at a time in reverse order, which is exactly the
/// order breakerd needs: stop answering HTTP (readiness turns 503 first), then drain the
/// protocol listener, and only then flush the writer and close SQLite. `onShutdown` runs even
/// when the group is cancelled instead, so the database is always closed cleanly.
struct DaemonPart: Service, CustomStringConvertible {
    let name: String
    let logger: Logger
    var onStart: @Sendable () async -> Void = {}
    let onShutdown: @Sendable () async -> Void

    init(name: String, logger: Logger, onStart: @escaping @Sendable () async -> Void = {},
         onShutdown: @escaping @Sendable () async -> Void) {
        self.name = name
        self.logger = logger
        self.onStart = onStart
        self.onShutdown = onShutdown
    }

    var description: String { name }

    func run() async throws {
        await onStart()
        try? await gracefulShutdown()
        logger.info("stopping", metadata: ["part": "\(name)"])
        await onShutdown()
    }
}
