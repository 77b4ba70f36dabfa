import BreakerTestSupport
import Foundation
import BreakerCore
import BreakerPostgres
import BreakerStorageContract
import BreakerStore
import Logging
import Testing

let quietLogger = Logger(label: "breakerpostgres-tests") { _ in SwiftLogNoOpLogHandler() }

/// A store on `url` (one URL or a comma-separated list); the session timeouts are long unless a
/// test is about them.
func openStore(_ url: String, cluster: String = "test", transitionLogLimit: Int = 1000,
               sessionTimeout: Duration? = .seconds(60), queryTimeout: Duration = .seconds(3)) throws(PostgresStoreError) -> PostgresStore {
    try PostgresStore.connect(PostgresURL.parseList(url),
                              options: .init(cluster: cluster, transitionLogLimit: transitionLogLimit,
                                             sessionTimeout: sessionTimeout, queryTimeout: queryTimeout),
                              logger: quietLogger)
}

/// The query and session timeouts of the tests that move pages of 20,000 rows, which the
/// timeouts are not about. In loaded ThreadSanitizer runs of the whole suite, where those tests
/// run at once on postgres-nio's two event loops, 60 s ran out twice (a page load not
/// answered; a writer's session ended by PostgreSQL's idle timeouts, which are these).
let bulkTimeout: Duration = .seconds(300)

/// A store that holds its cluster's lease, so it may write.
func leaderStore(_ url: String, cluster: String = "test", transitionLogLimit: Int = 1000,
                 sessionTimeout: Duration? = .seconds(60), queryTimeout: Duration = .seconds(3)) throws -> PostgresStore {
    let store = try openStore(url, cluster: cluster, transitionLogLimit: transitionLogLimit,
                              sessionTimeout: sessionTimeout, queryTimeout: queryTimeout)
    // A store closed just before (a reopen, as a restart does) leaves its session's lock to the
    // server, which frees it a moment later: ask again for a while, as a standby would.
    for _ in 0..<250 {
        if try store.tryAcquire(elapsed: .zero) { return store }
        usleep(20_000)
    }
    throw PostgresCluster.ClusterError(message: "the lease of cluster \(cluster) is taken")
}

/// The error `body` throws, or a recorded issue and nil.
func thrown<E: Error>(_ type: E.Type, _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> E? {
    do {
        try body()
        Issue.record("expected \(E.self), nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as E {
        return error
    } catch {
        Issue.record("expected \(E.self), got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

extension StorageUnderTest {
    static let postgres = StorageUnderTest(
        name: "PostgreSQL",
        create: { limit in
            let cluster = try PostgresCluster.get()
            let (name, url) = try cluster.freshDatabase()
            let place = Place(reopen: { try leaderStore(url, transitionLogLimit: $0) },
                              remove: { _ = try? cluster.sql("DROP DATABASE \(name) WITH (FORCE)") })
            return (try leaderStore(url, transitionLogLimit: limit), place)
        },
        // A read-only session refuses every write for real, as a full disk would.
        failWrites: { try ($0 as! PostgresStore).executeForTesting("SET default_transaction_read_only = on") },
        allowWrites: { try ($0 as! PostgresStore).executeForTesting("SET default_transaction_read_only = off") })
}

/// The shared `BreakerStorageContract`, against `PostgresStore` on a real PostgreSQL.
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (CI=true makes this a failure)"))
struct PostgresStorageContractTests {
    @Test(arguments: BreakerStorageContract.all)
    func contract(_ check: BreakerStorageContract) throws {
        try check.run(against: .postgres)
    }
}
