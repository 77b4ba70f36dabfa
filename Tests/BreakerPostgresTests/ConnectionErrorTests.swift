import BreakerPostgres
import BreakerTestSupport
import Foundation
import Testing

@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (CI=true makes this a failure)"))
struct ConnectionErrorTests {
    static let badURLs: [(url: String, message: String)] = [
        ("mysql://u@h/db", "the scheme must be postgres:// or postgresql://"),
        ("postgres://u@/db", "no host"),
        ("postgres://h:5432/db", "no user (postgres://USER@HOST/DATABASE)"),
        ("postgres://u@h:5432", "no database name (postgres://USER@HOST/DATABASE)"),
        ("postgres://u@h:70000/db", "port 70000 is out of range"),
        ("postgres://u@h/db?sslmode=prefer", "unknown sslmode \"prefer\" (use disable, require or verify-full)"),
        ("postgres://u@h/db?target_session_attrs=any", "unknown parameter \"target_session_attrs\" (only sslmode is supported)"),
        ("postgres://u:hunter2@h/db?sslmode=x", "unknown sslmode \"x\" (use disable, require or verify-full)"),
    ]

    @Test(arguments: badURLs)
    func aBadURLSaysWhatIsWrongWithoutThePassword(_ bad: (url: String, message: String)) {
        let error = thrown(PostgresStoreError.self) { _ = try PostgresURL.parse(bad.url) }
        #expect(error == PostgresStoreError(code: .badURL,
                                            message: "invalid PostgreSQL URL \"\(bad.url.replacingOccurrences(of: "hunter2", with: "***"))\": \(bad.message)"))
        #expect(error?.isRetryable == false)
    }

    @Test func aURLParsesWholeAndPrintsWithoutItsPassword() throws {
        let url = try PostgresURL.parse("postgresql://ops:pa%40ss@db.internal:6432/breakers?sslmode=verify-full")
        #expect(url == PostgresURL(user: "ops", password: "pa@ss", host: "db.internal", port: 6432, database: "breakers",
                                   sslMode: .verifyFull))
        #expect(url.description == "postgres://ops@db.internal:6432/breakers?sslmode=verify-full")
        #expect(try PostgresURL.parseList("postgres://a@h1/db, postgres://a@h2:5433/db").map(\.server) == ["h1:5432", "h2:5433"])
    }

    @Test func theWrongPasswordIsAFatalErrorNamingTheUser() throws {
        let pg = try PostgresCluster.get()
        let (name, _) = try pg.freshDatabase()
        let error = thrown(PostgresStoreError.self) {
            _ = try openStore("postgres://\(PostgresCluster.passwordRole):wrong@127.0.0.1:\(pg.port)/\(name)")
        }
        #expect(error == PostgresStoreError(code: .wrongPassword, message:
            "PostgreSQL at 127.0.0.1:\(pg.port) refused user \"\(PostgresCluster.passwordRole)\": password authentication "
            + "failed for user \"\(PostgresCluster.passwordRole)\" (SQLSTATE 28P01)"))
        #expect(error?.isRetryable == false)
    }

    @Test func thePasswordFromAFileConnects() throws {
        let pg = try PostgresCluster.get()
        let (name, _) = try pg.freshDatabase()
        let file = NSTemporaryDirectory() + "/breakerd-pw-\(getpid())"
        try (PostgresCluster.password + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let url = try PostgresURL.parse("postgres://\(PostgresCluster.passwordRole)@127.0.0.1:\(pg.port)/\(name)", passwordFile: file)
        #expect(url.password == PostgresCluster.password)
        let store = try PostgresStore.connect([url], logger: quietLogger)
        store.close()
        let both = thrown(PostgresStoreError.self) { _ = try PostgresURL.parse("postgres://u:p@h/db", passwordFile: file) }
        #expect(both?.message == "invalid PostgreSQL URL \"postgres://u:***@h/db\": a password is given both in the URL and in a password file")
    }

    @Test func anUnknownDatabaseIsAFatalErrorNamingIt() throws {
        let pg = try PostgresCluster.get()
        let error = thrown(PostgresStoreError.self) { _ = try openStore("postgres://postgres@127.0.0.1:\(pg.port)/no_such_db") }
        #expect(error == PostgresStoreError(code: .unknownDatabase, message:
            "PostgreSQL at 127.0.0.1:\(pg.port) has no database \"no_such_db\" (SQLSTATE 3D000)"))
        #expect(error?.isRetryable == false)
    }

    @Test func anUnreachableServerIsARetryableErrorNamingIt() throws {
        let port = try PostgresCluster.freePort()
        let error = thrown(PostgresStoreError.self) { _ = try openStore("postgres://postgres@127.0.0.1:\(port)/db") }
        #expect(error == PostgresStoreError(code: .unreachable, message:
            "PostgreSQL at 127.0.0.1:\(port) is unreachable: connection refused"))
        #expect(error?.isRetryable == true)
    }

    @Test func theFirstReachablePrimaryOfAListIsTaken() throws {
        let pg = try PostgresCluster.get()
        let (_, url) = try pg.freshDatabase()
        let dead = try PostgresCluster.freePort()
        let store = try openStore("postgres://postgres@127.0.0.1:\(dead)/db,\(url)")
        defer { store.close() }
        #expect(try store.url == PostgresURL.parse(url))
        #expect(try store.tryAcquire(elapsed: .zero))
    }

    @Test func aListWithNoReachableServerNamesEach() throws {
        let (one, two) = (try PostgresCluster.freePort(), try PostgresCluster.freePort())
        let error = thrown(PostgresStoreError.self) {
            _ = try openStore("postgres://postgres@127.0.0.1:\(one)/db,postgres://postgres@127.0.0.1:\(two)/db")
        }
        #expect(error == PostgresStoreError(code: .unreachable, message: "no PostgreSQL primary among 2 URLs: "
            + "PostgreSQL at 127.0.0.1:\(one) is unreachable: connection refused; "
            + "PostgreSQL at 127.0.0.1:\(two) is unreachable: connection refused"))
    }
}

@Suite(.enabled(if: PostgresCluster.shouldRun, "PostgreSQL is not installed (CI=true makes this a failure)"))
struct StandbyTests {
    @Test func aStandbyFirstInTheListIsSkippedForThePrimary() throws {
        let pg = try PostgresCluster.get()
        let standby = try pg.standbyPort()
        let primary = "postgres://postgres@127.0.0.1:\(pg.port)/postgres"
        let store = try openStore("postgres://postgres@127.0.0.1:\(standby)/postgres,\(primary)", cluster: "standby-test")
        defer { store.close() }
        #expect(try store.url == PostgresURL.parse(primary))
    }

    @Test func aListOfOnlyStandbysIsARetryableNoPrimaryError() throws {
        let pg = try PostgresCluster.get()
        let standby = try pg.standbyPort()
        let error = thrown(PostgresStoreError.self) { _ = try openStore("postgres://postgres@127.0.0.1:\(standby)/postgres") }
        #expect(error == PostgresStoreError(code: .noPrimary, message:
            "no PostgreSQL primary among 1 URLs: PostgreSQL at 127.0.0.1:\(standby) is a standby (in recovery)"))
        #expect(error?.isRetryable == true)
    }
}
