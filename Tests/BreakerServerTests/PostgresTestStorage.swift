import BreakerPostgres
import BreakerSync
import BreakerTestSupport
import Foundation
import Logging

/// `TestDaemon`'s storage when `BREAKERD_TEST_STORAGE=postgres`: one database of the throwaway
/// PostgreSQL cluster per test daemon (a restart reopens the same one), whose lease the store
/// takes before the registry loads, as a leader's does.
enum PostgresTestStorage {
    static var enabled: Bool { ProcessInfo.processInfo.environment["BREAKERD_TEST_STORAGE"] == "postgres" }

    /// The database URL of each daemon, by its SQLite path (which names the daemon's folder).
    private static let databases = Mutex<[String: String]>([:])

    /// A store holding the lease on `path`'s database; nil unless enabled.
    static func leader(for path: String, logger: Logger) throws -> SharedPostgresStore? {
        guard enabled else { return nil }
        let url = try databases.withLock { databases throws -> String in
            if let url = databases[path] { return url }
            let url = try PostgresCluster.get().freshDatabase().url
            databases[path] = url
            return url
        }
        let store = try SharedPostgresStore.connect(PostgresURL.parseList(url), options: .init(cluster: "test", sessionTimeout: nil),
                                                    logger: logger)
        // A restart's previous session frees its lock a moment after it closed: ask for a while.
        for _ in 0..<250 {
            if try store.tryAcquire(elapsed: .zero) { return store }
            usleep(20_000)
        }
        store.close()
        throw PostgresCluster.ClusterError(message: "the lease of \(url) stayed taken")
    }
}
