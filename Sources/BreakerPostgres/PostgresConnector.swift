import Logging
import PostgresNIO

/// Finds the primary among several URLs (postgres-nio has no multi-host connection strings and
/// no `target_session_attrs`): each is tried in order, and only a server where
/// `pg_is_in_recovery()` is false is kept.
enum PostgresConnector {
    static func connectToPrimary(_ urls: [PostgresURL], options: PostgresStore.Options,
                                 logger: Logger) throws(PostgresStoreError) -> PostgresSession {
        precondition(!urls.isEmpty, "at least one PostgreSQL URL")
        var skipped: [String] = []
        var sawStandby = false
        for url in urls {
            let session: PostgresSession
            do {
                session = try PostgresSession.connect(url, connectTimeout: options.connectTimeout, logger: logger)
                session.queryTimeout = options.queryTimeout
            } catch where error.isRetryable {
                logger.warning("PostgreSQL server skipped", metadata: ["url": "\(url)", "error": "\(error)"])
                skipped.append(error.message)
                continue
            }
            do {
                if try session.value("SELECT pg_is_in_recovery()", as: Bool.self, "ask whether the server is a standby") {
                    sawStandby = true
                    skipped.append("PostgreSQL at \(url.server) is a standby (in recovery)")
                    session.close()
                    continue
                }
                try configure(session, options: options)
                return session
            } catch {
                session.close()
                guard error.isRetryable else { throw error }
                skipped.append(error.message)
            }
        }
        if urls.count == 1, !sawStandby, let only = skipped.first {
            throw PostgresStoreError(code: .unreachable, message: only)
        }
        throw PostgresStoreError(code: sawStandby ? .noPrimary : .unreachable,
                                 message: "no PostgreSQL primary among \(urls.count) URLs: " + skipped.joined(separator: "; "))
    }

    /// The session's own timeouts, so PostgreSQL ends it if its owner freezes, in a transaction
    /// or between them. `SET` takes no parameters; `set_config` does. Also what `renew` runs to
    /// put them back after a load lifted the idle one (`PostgresStore.loadAll`).
    static func configure(_ session: PostgresSession, options: PostgresStore.Options) throws(PostgresStoreError) {
        guard let timeout = options.sessionTimeout else { return }
        let value = milliseconds(timeout)
        try session.query("""
            SELECT set_config('idle_session_timeout', \(value), false),
                   set_config('idle_in_transaction_session_timeout', \(value), false)
            """, "set the session timeouts")
    }

    /// `idle_session_timeout` for the duration of a load: the session idles while a page is
    /// decoded and while the registry is built from the pages, which on a busy machine outlasted
    /// the lease and got the loading session ended, forever (see `PostgresStore.loadAll`).
    static func liftIdleTimeout(_ session: PostgresSession, options: PostgresStore.Options) throws(PostgresStoreError) {
        guard options.sessionTimeout != nil else { return }
        try session.query("SELECT set_config('idle_session_timeout', \(milliseconds(options.queryTimeout)), false)",
                          "lift the idle timeout for the load")
    }

    private static func milliseconds(_ duration: Duration) -> String {
        "\(max(1, duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000))ms"
    }
}
