import BreakerTestSupport
import Foundation
import Testing

/// What a real breakerd with `--postgres-url` says and does when PostgreSQL cannot be used at
/// start: configuration errors stop it (exit 1, the cause on stderr); an unreachable server is
/// retried, logged, while the daemon runs as a standby.
@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (CI=true makes this a failure)"))
struct DaemonStartErrorTests {
    /// The exit status and the operator's line (the last on stderr; a log line precedes it).
    func runToExit(_ url: String, _ more: [String] = []) throws -> (status: Int32, stderr: String) {
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (status, stderr) = try DaemonProcess(database: directory + "/unused.sqlite3", arguments: ["--postgres-url", url] + more)
            .runToExit()
        return (status, stderr.split(separator: "\n").last.map { $0 + "\n" } ?? "")
    }

    @Test func aBadURLStopsItNamingTheProblemWithoutThePassword() throws {
        let (status, stderr) = try runToExit("postgres://ops:hunter2@db.internal/breakers?sslmode=prefer")
        #expect(status == 1)
        #expect(stderr == "breakerd: invalid PostgreSQL URL \"postgres://ops:***@db.internal/breakers?sslmode=prefer\": "
                + "unknown sslmode \"prefer\" (use disable, require or verify-full)\n")
    }

    @Test func theWrongPasswordStopsItNamingTheUser() throws {
        let pg = try PostgresCluster.get()
        let (name, _) = try pg.freshDatabase()
        let (status, stderr) = try runToExit("postgres://\(PostgresCluster.passwordRole):wrong@127.0.0.1:\(pg.port)/\(name)")
        #expect(status == 1)
        #expect(stderr == "breakerd: PostgreSQL at 127.0.0.1:\(pg.port) refused user \"\(PostgresCluster.passwordRole)\": "
                + "password authentication failed for user \"\(PostgresCluster.passwordRole)\" (SQLSTATE 28P01)\n")
    }

    @Test func anUnknownDatabaseStopsItNamingTheDatabase() throws {
        let pg = try PostgresCluster.get()
        let (status, stderr) = try runToExit("postgres://postgres@127.0.0.1:\(pg.port)/no_such_db")
        #expect(status == 1)
        #expect(stderr == "breakerd: PostgreSQL at 127.0.0.1:\(pg.port) has no database \"no_such_db\" (SQLSTATE 3D000)\n")
    }

    @Test func anUnreachableServerIsRetriedAndLoggedWhileTheDaemonStandsBy() throws {
        let port = try PostgresCluster.freePort()
        let directory = makeTempDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = DaemonProcess(database: directory + "/unused.sqlite3", arguments: [
            "--postgres-url", "postgres://postgres@127.0.0.1:\(port)/breakers", "--log-level", "warning", "--log-format", "json",
        ])
        try daemon.start()
        defer { daemon.kill(SIGKILL) }
        // It runs, answers as a standby with no leader known, and is not ready.
        let client = try daemon.client()
        #expect(try client.request(#"{"op":"hello","client":"probe"}"#)["role"]?.string == "standby")
        // PROTOCOL.md's example of not_leader with no leader known, literally.
        try client.send(#"{"op":"should-attempt","breaker":"payments-api","id":1}"#)
        #expect(try client.readLine() == DaemonCluster.documentedNotLeaderReplies().last)
        #expect(try HTTPTestClient.get("/readyz", port: daemon.httpPort).status == 503)
        #expect(try HTTPTestClient.get("/healthz", port: daemon.httpPort).status == 200)
        // The first failed attempt is logged at once, naming the server and the cause.
        let logged = daemon.stderrText()
        #expect(logged.contains("PostgreSQL at 127.0.0.1:\(port) is unreachable: connection refused"), "\(logged)")
        #expect(daemon.process.isRunning)
    }
}
