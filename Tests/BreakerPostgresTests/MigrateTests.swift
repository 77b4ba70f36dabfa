import BreakerCore
import BreakerPostgres
import BreakerStorageContract
import BreakerStore
import BreakerTestSupport
import BreakerWire
import Foundation
import Testing

/// `breakerd migrate` (issue #14, "Growing out of SQLite"): a SQLite file written by a real
/// daemon (plus the storage fixtures' extreme values), copied by the real executable, compared
/// whole through both stores, and served by a daemon on PostgreSQL afterwards.
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (CI=true makes this a failure)"),
       .serialized)
final class MigrateTests {
    let directory = makeTempDirectory()
    var sqlitePath: String { directory + "/breakerd.sqlite3" }
    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func migrate(_ arguments: [String]) throws -> ProcessOutput {
        try runProcess(DaemonProcess.executable, ["migrate"] + arguments)
    }

    func now() -> Timestamp { Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000)) }

    /// Breakers in every state, made by a real SQLite daemon: closed with counts, open with a long
    /// deadline, half-open, forced open by an admin (actor and note in the history), a rate
    /// policy with backoff, and records with dedupe keys. Returns what `inspect` said of each.
    func writeThroughTheSQLiteDaemon() throws -> [String: JSONValue] {
        let tokens = directory + "/admin-tokens"
        try "alice:s3cret-token-for-alice\n".write(toFile: tokens, atomically: true, encoding: .utf8)
        chmod(tokens, 0o600)
        let daemon = DaemonProcess(database: sqlitePath, arguments: ["--admin-token-file", tokens])
        try daemon.start()
        let client = try daemon.client()
        #expect(try client.request(#"{"op":"auth","token":"s3cret-token-for-alice"}"#)["name"]?.string == "alice")
        let setup = [
            #"{"op":"configure","breaker":"closed-counts","config":{"failure_threshold":5}}"#,
            #"{"op":"record-success","breaker":"closed-counts","dedupe":"c-1"}"#,
            #"{"op":"record-failure","breaker":"closed-counts","dedupe":"c-2"}"#,
            #"{"op":"configure","breaker":"open-long","config":{"failure_threshold":1,"timeout_ms":600000}}"#,
            #"{"op":"record-failure","breaker":"open-long","dedupe":"o-1"}"#,
            #"{"op":"configure","breaker":"half-open","config":{"failure_threshold":1,"timeout_ms":1}}"#,
            #"{"op":"record-failure","breaker":"half-open"}"#,
            #"{"op":"force-open","breaker":"maintenance","reason":"provider window 14:00-15:00"}"#,
            #"{"op":"configure","breaker":"rate-backoff","config":{"policy":"rate","window":{"kind":"count","size":10},"failure_rate_threshold":50,"minimum_calls":2,"timeout_backoff":{"multiplier":2.5,"max_ms":90000}}}"#,
            #"{"op":"record-failure","breaker":"rate-backoff"}"#,
            #"{"op":"record-failure","breaker":"rate-backoff","dedupe":"r-1"}"#,
            #"{"op":"force-open","breaker":"released","reason":"drill"}"#,
            #"{"op":"release","breaker":"released"}"#,
        ]
        for line in setup {
            let reply = try client.request(line)
            #expect(reply["ok"]?.bool == true, "\(line) → \(reply)")
        }
        // Half-open: the 1 ms timeout has passed, a decision moves it.
        #expect(eventually(within: 10) {
            (try? client.request(#"{"op":"should-attempt","breaker":"half-open"}"#))?["state"]?.string == "half_open"
        })
        var seen: [String: JSONValue] = [:]
        for name in ["closed-counts", "open-long", "half-open", "maintenance", "rate-backoff", "released"] {
            seen[name] = try client.request(#"{"op":"inspect","breaker":"\#(name)"}"#)["breaker"]
        }
        #expect(seen["maintenance"]?["state"]?.string == "forced_open")
        #expect(seen["half-open"]?["state"]?.string == "half_open")
        daemon.kill(SIGTERM)
        #expect(daemon.process.terminationStatus == 0)

        // The storage fixtures on top: counters at their extremes, names that break interpolated SQL.
        let database = try BreakerDatabase(path: sqlitePath, logger: quietLogger)
        defer { database.close() }
        let fixtures = breakersInEveryState()
        try database.write(WriteBatch(
            breakers: fixtures,
            transitions: fixtures.map {
                LoggedTransition(breaker: $0.name, transition: transition(.closed, .open, generation: 1, at: 5, reason: .failureThreshold),
                                 actor: "bob", note: "fixture ✓")
            },
            dedupes: fixtures.map {
                DedupeRow(breaker: $0.name, key: "fx-\($0.name)", state: .open, generation: .max, stale: true,
                          expiresMs: now().millisecondsSinceEpoch + 3_600_000)
            } + [DedupeRow(breaker: "payments-api", key: "expired", state: .closed, generation: 1, stale: false, expiresMs: 1)]))
        return seen
    }

    /// Every breaker, dedupe key and history row of the SQLite file equal to PostgreSQL's.
    func expectIdentical(_ url: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let source = try BreakerDatabase(path: sqlitePath, logger: quietLogger)
        defer { source.close() }
        let target = try openStore(url)
        defer { target.close() }
        let breakers = try source.loadAll().sorted { $0.name < $1.name }
        #expect(breakers.count == 10, sourceLocation: sourceLocation)
        #expect(try target.loadAll().sorted { $0.name < $1.name } == breakers, sourceLocation: sourceLocation)
        let time = now()
        let keys = Set(try source.loadDedupe(notExpiredAt: time, limit: .max))
        #expect(keys.count == 8, sourceLocation: sourceLocation)  // the expired one is not carried
        #expect(Set(try target.loadDedupe(notExpiredAt: time, limit: .max)) == keys, sourceLocation: sourceLocation)
        var rows = 0
        for breaker in breakers {
            let history = try source.history(breaker: breaker.name, limit: .max)
            rows += history.count
            #expect(try target.history(breaker: breaker.name, limit: .max) == history, "\(breaker.name)",
                    sourceLocation: sourceLocation)
        }
        #expect(rows == 11, sourceLocation: sourceLocation)
        let forced = try source.history(breaker: "maintenance", limit: 1).first
        #expect(forced?.actor == "alice" && forced?.note == "provider window 14:00-15:00", sourceLocation: sourceLocation)
    }

    @Test func everyBreakerDeadlineHistoryRowAndDedupeKeyArrivesAndADaemonServesThem() throws {
        let seen = try writeThroughTheSQLiteDaemon()
        let pg = try PostgresCluster.get()
        let (databaseName, url) = try pg.freshDatabase()
        let server = "127.0.0.1:\(pg.port)"

        let copied = try migrate(["--from", sqlitePath, "--postgres-url", url, "--cluster", "test"])
        #expect(copied.status == 0, "\(copied.stderr)")
        #expect(copied.stdout == "copied 10 breakers, 11 history rows and 8 dedupe keys from \(sqlitePath) to "
                + "postgres://postgres@\(server)/\(databaseName) (cluster test)\n")
        try expectIdentical(url)

        // A second run finds the target in use and changes nothing.
        let again = try migrate(["--from", sqlitePath, "--postgres-url", url, "--cluster", "test"])
        #expect(again.status == 2)
        #expect(again.stderr == "breakerd migrate: PostgreSQL database \(databaseName) at \(server) already holds 10 breakers, "
                + "11 history rows and 8 dedupe keys; nothing was copied. --force replaces them with the contents of \(sqlitePath)\n")

        // --force replaces the target's contents: a breaker only PostgreSQL has goes, a changed one is overwritten.
        let extra = try leaderStore(url)
        try extra.write(WriteBatch(breakers: [StoredBreaker(name: "only-in-postgres", breaker: CircuitBreaker(createdAt: at(0)))],
                                   transitions: [LoggedTransition(breaker: "open-long", transition:
                                                                    transition(.open, .halfOpen, generation: 9, at: 1, reason: .timeoutElapsed))]))
        extra.close()
        let forced = try migrate(["--from", sqlitePath, "--postgres-url", url, "--cluster", "test", "--force"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(forced.stdout.hasSuffix("(cluster test), replacing what it held\n"), "\(forced.stdout)")
        try expectIdentical(url)

        // A daemon on the migrated database serves the same states.
        let cluster = DaemonProcess(database: directory + "/unused.sqlite3",
                                    arguments: ["--postgres-url", url, "--cluster", "test"])
        try cluster.start()
        defer { cluster.kill(SIGKILL) }
        // A new connection each time: a daemon closes its connections when its role changes.
        #expect(eventually(within: 20) {
            (try? cluster.client().request(#"{"op":"hello","client":"t"}"#))?["role"]?.string == "leader"
        })
        let leader = try cluster.client()
        for (name, before) in seen {
            let after = try #require(try leader.request(#"{"op":"inspect","breaker":"\#(name)"}"#)["breaker"])
            for field in ["state", "generation", "failure_count", "success_count", "config", "metrics", "forced", "open_until"] {
                #expect(after[field] == before[field], "\(name).\(field): \(String(describing: after[field])) != \(String(describing: before[field]))")
            }
        }
        // The dedupe keys hold: a resend is not counted again.
        let resent = try leader.request(#"{"op":"record-failure","breaker":"closed-counts","dedupe":"c-2"}"#)
        #expect(resent["ok"]?.bool == true)
        let counted = try leader.request(#"{"op":"inspect","breaker":"closed-counts"}"#)["breaker"]
        #expect(counted?["metrics"]?["failed_calls"] == seen["closed-counts"]?["metrics"]?["failed_calls"])
        let history = try leader.request(#"{"op":"history","breaker":"maintenance"}"#)
        #expect(history["transitions"]?.array?.first?["actor"]?.string == "alice")
        #expect(history["transitions"]?.array?.first?["note"]?.string == "provider window 14:00-15:00")

        // While it leads, migrate refuses, --force or not, and names it.
        let refused = try migrate(["--from", sqlitePath, "--postgres-url", url, "--cluster", "test", "--force"])
        #expect(refused.status == 3)
        #expect(refused.stderr == "breakerd migrate: a breakerd leads cluster \"test\" on PostgreSQL database \(databaseName) "
                + "at \(server) (127.0.0.1:\(cluster.port)), or another migrate runs; nothing was copied. Stop every breakerd "
                + "of the cluster, then migrate again\n")
        // Under another cluster name too: the tables are the database's.
        let other = try migrate(["--from", sqlitePath, "--postgres-url", url, "--cluster", "other", "--force"])
        #expect(other.status == 3)
        #expect(other.stderr.contains("a breakerd leads cluster \"test\""), "\(other.stderr)")
    }

    @Test func aMissingSourceOrURLIsRefusedBeforeAnythingIsTouched() throws {
        let missing = try migrate(["--from", directory + "/none.sqlite3", "--postgres-url", "postgres://u@127.0.0.1:1/x"])
        #expect(missing.status == 1)
        #expect(missing.stderr == "breakerd migrate: no SQLite database at \(directory)/none.sqlite3; nothing was copied\n")
        #expect(!FileManager.default.fileExists(atPath: directory + "/none.sqlite3"))
        let noURL = try runProcess(DaemonProcess.executable, ["migrate", "--from", sqlitePath], environment: [:])
        #expect(noURL.status == 64)
        #expect(noURL.stderr.hasPrefix("Error: Missing '--postgres-url <URL>' (or the environment variable BREAKERD_POSTGRES_URL)\n"))
        let unknown = try migrate(["--from", sqlitePath, "--port", "1"])
        #expect(unknown.status == 64)
        #expect(unknown.stderr.hasPrefix("Error: Unknown option '--port'\n"))
    }
}
