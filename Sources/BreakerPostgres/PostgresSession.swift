import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One PostgreSQL session used synchronously: each call blocks the calling thread (the store
/// writer's own, never an event loop) until postgres-nio's future completes.
///
/// A session that ended (dropped, terminated by an administrator or by `idle_session_timeout`)
/// stays ended: every later call fails with `.sessionLost`. It never reconnects on its own,
/// because whatever the old session held (the leader lease) is gone, and only the owner can
/// decide to connect anew and take it again.
final class PostgresSession {
    let url: PostgresURL
    let logger: Logger
    /// How long one statement may take before the session is given up (see `query`).
    var queryTimeout: Duration = .seconds(10)
    private var connection: PostgresConnection?
    private var ended: PostgresStoreError?

    private init(url: PostgresURL, connection: PostgresConnection, logger: Logger) {
        self.url = url
        self.connection = connection
        self.logger = logger
    }

    deinit { close() }

    /// Connects and authenticates; the error says which of bad TLS setup, wrong password,
    /// unknown database or unreachable server it was.
    static func connect(_ url: PostgresURL, connectTimeout: Duration, logger: Logger) throws(PostgresStoreError) -> PostgresSession {
        var configuration = PostgresConnection.Configuration(
            host: url.host, port: url.port, username: url.user, password: url.password, database: url.database,
            tls: try tls(for: url))
        configuration.options.connectTimeout = .nanoseconds(connectTimeout.nanoseconds)
        if url.sslMode == .verifyFull { configuration.options.tlsServerName = url.host }
        let future = PostgresConnection.connect(
            on: MultiThreadedEventLoopGroup.singleton.next(), configuration: configuration, id: 1, logger: logger)
        do {
            return PostgresSession(url: url, connection: try future.wait(), logger: logger)
        } catch {
            throw classify(error, url: url, connecting: true, action: "connect")
        }
    }

    private static func tls(for url: PostgresURL) throws(PostgresStoreError) -> PostgresConnection.Configuration.TLS {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch url.sslMode {
        case .disable: return .disable
        case .require: tls.certificateVerification = .none
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        do {
            return .require(try NIOSSLContext(configuration: tls))
        } catch {
            throw PostgresStoreError(code: .badURL, message: "cannot set up TLS for PostgreSQL at \(url.server): \(error)")
        }
    }

    var isOpen: Bool { connection != nil && ended == nil }

    /// Throws why the session is over, if it is.
    func checkOpen() throws(PostgresStoreError) {
        if let ended { throw ended }
    }

    /// Runs one statement (bound parameters only) and returns its rows.
    @discardableResult
    func query(_ query: PostgresQuery, _ action: String) throws(PostgresStoreError) -> [PostgresRow] {
        try wait(send(query, action))
    }

    /// A statement sent and not yet waited for (`send`, then `wait`).
    struct Pending {
        fileprivate let connection: PostgresConnection
        fileprivate let answer: EventLoopFuture<PostgresQueryResult>
        fileprivate let timer: Scheduled<Void>
        fileprivate let timeout: Duration
        fileprivate let action: String
    }

    /// Sends one statement without waiting for its rows, so the caller can work meanwhile (the
    /// loader decodes a page while the next one arrives). Statements run in the order sent.
    func send(_ query: PostgresQuery, _ action: String) throws(PostgresStoreError) -> Pending {
        try checkOpen()
        guard let connection else { throw PostgresStoreError(code: .closed, message: "the store for \(url) is closed") }
        if connection.isClosed {
            let lost = PostgresStoreError(code: .sessionLost, message: "the PostgreSQL session at \(url.server) ended")
            end(lost)
            throw lost
        }
        // postgres-nio can leave a statement on a connection the server just closed unanswered,
        // and a server can stop answering: the wait is bounded (from the moment it is sent), and a
        // session that overran it is abandoned, since what it holds or has half-done can no longer
        // be known.
        let answer = connection.eventLoop.makePromise(of: PostgresQueryResult.self)
        connection.query(query, logger: logger).cascade(to: answer)
        let timer = connection.eventLoop.scheduleTask(in: .nanoseconds(queryTimeout.nanoseconds)) {
            answer.fail(QueryTimedOut())
        }
        return Pending(connection: connection, answer: answer.futureResult, timer: timer, timeout: queryTimeout, action: action)
    }

    /// The rows of a statement sent by `send`.
    func wait(_ pending: Pending) throws(PostgresStoreError) -> [PostgresRow] {
        defer { pending.timer.cancel() }
        do {
            return try pending.answer.wait().rows
        } catch is QueryTimedOut {
            let lost = PostgresStoreError(code: .sessionLost, message:
                "PostgreSQL at \(url.server) did not answer \(pending.action) within \(pending.timeout); the session is abandoned")
            end(lost)
            throw lost
        } catch {
            var classified = Self.classify(error, url: url, connecting: false, action: pending.action)
            if pending.connection.isClosed, classified.code != .sessionLost {
                classified = PostgresStoreError(code: .sessionLost, message: classified.message)
            }
            if classified.code == .sessionLost { end(classified) }
            throw classified
        }
    }

    /// The first column of the only row, decoded.
    func value<T: PostgresDecodable>(_ query: PostgresQuery, as type: T.Type, _ action: String) throws(PostgresStoreError) -> T {
        let rows = try self.query(query, action)
        guard let row = rows.first, let cell = row.first else {
            throw PostgresStoreError(code: .server, message: "\(action) at \(url.server): no row came back")
        }
        do {
            return try cell.decode(T.self)
        } catch {
            throw PostgresStoreError(code: .server, message: "\(action) at \(url.server): unexpected value (\(error))")
        }
    }

    private struct QueryTimedOut: Error {}

    /// Marks the session ended for good and drops the connection.
    func end(_ reason: PostgresStoreError) {
        if ended == nil { ended = reason }
        close()
    }

    /// Closes the connection (without waiting for the server when it is already gone).
    func close() {
        guard let connection else { return }
        self.connection = nil
        if ended == nil { ended = PostgresStoreError(code: .closed, message: "the store for \(url) is closed") }
        _ = try? connection.close().wait()
    }

    /// Turns postgres-nio's errors into the store's codes. SQLSTATEs: 28P01/28000 the password
    /// or user, 3D000 the database, 57P01..57P05 and 25P03 a session ended by the server
    /// (terminated, shut down, idle timeouts).
    static func classify(_ error: any Error, url: PostgresURL, connecting: Bool, action: String) -> PostgresStoreError {
        if let error = error as? PostgresStoreError { return error }
        guard let psql = error as? PSQLError else {
            return PostgresStoreError(code: connecting ? .unreachable : .sessionLost,
                                      message: "PostgreSQL at \(url.server) is unreachable: \(reason(error))")
        }
        let sqlState = psql.serverInfo?[.sqlState] ?? ""
        let serverMessage = psql.serverInfo?[.message] ?? "\(psql.code)"
        switch psql.code {
        case .server:
            switch sqlState {
            case "28P01", "28000":
                return PostgresStoreError(code: .wrongPassword, message:
                    "PostgreSQL at \(url.server) refused user \"\(url.user)\": \(serverMessage) (SQLSTATE \(sqlState))")
            case "3D000":
                return PostgresStoreError(code: .unknownDatabase, message:
                    "PostgreSQL at \(url.server) has no database \"\(url.database)\" (SQLSTATE 3D000)")
            case "57P01", "57P02", "57P03", "57P05", "25P03":
                return PostgresStoreError(code: connecting ? .unreachable : .sessionLost, message:
                    "the PostgreSQL session at \(url.server) ended: \(serverMessage) (SQLSTATE \(sqlState))")
            default:
                return PostgresStoreError(code: .server, message:
                    "\(action) at \(url.server) failed: \(serverMessage) (SQLSTATE \(sqlState))")
            }
        case .authMechanismRequiresPassword:
            return PostgresStoreError(code: .wrongPassword, message:
                "PostgreSQL at \(url.server) asks user \"\(url.user)\" for a password and none was given")
        case .sslUnsupported:
            return PostgresStoreError(code: .badURL, message:
                "PostgreSQL at \(url.server) does not offer TLS, but the URL asks for sslmode=\(url.sslMode.rawValue)")
        case .connectionError where connecting:
            return PostgresStoreError(code: .unreachable, message:
                "PostgreSQL at \(url.server) is unreachable: \(psql.underlying.map(reason) ?? "connection failed")")
        default:
            return PostgresStoreError(code: connecting ? .unreachable : .sessionLost, message:
                "the PostgreSQL session at \(url.server) ended during \(action): \(psql.underlying.map(reason) ?? "\(psql.code)")")
        }
    }

    /// A short, stable cause: the errno's words for socket errors, whatever NIO wraps them in.
    private static func reason(_ error: any Error) -> String {
        if let io = error as? IOError { return String(cString: strerror(io.errnoCode)).lowercased() }
        if let failure = error as? NIOConnectionError {
            let causes = failure.connectionErrors.map { reason($0.error) } + [failure.dnsAError, failure.dnsAAAAError].compactMap { $0 }.map(reason)
            return Set(causes).sorted().joined(separator: "; ")
        }
        if case ChannelError.connectTimeout(let amount)? = error as? ChannelError {
            return "connection timed out after \(amount.nanoseconds / 1_000_000) ms"
        }
        return "\(error)"
    }
}

extension Duration {
    /// Whole nanoseconds, clamped, for NIO's `TimeAmount`.
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds.multipliedReportingOverflow(by: 1_000_000_000).overflow
            ? .max : seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
