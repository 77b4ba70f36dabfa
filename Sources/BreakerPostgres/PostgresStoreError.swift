import BreakerStore

/// Why PostgreSQL could not be used. `code` is stable (logs, metrics, the daemon's exit status);
/// `message` is for people and names the server and the cause. `isRetryable` splits the codes
/// the daemon retries with backoff (the server is away or not the primary yet) from the fatal
/// configuration errors that must stop it at start (exit 1, naming the cause).
public struct PostgresStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, CaseIterable {
        /// The URL (or the password file) is not usable. Fatal.
        case badURL = "bad_url"
        /// The server refused the user's password (or the user). Fatal.
        case wrongPassword = "wrong_password"
        /// The database in the URL does not exist on the server. Fatal.
        case unknownDatabase = "unknown_database"
        /// No server in the URL list answered. Retryable.
        case unreachable
        /// Servers answered, but each is a standby (`pg_is_in_recovery()`). Retryable.
        case noPrimary = "no_primary"
        /// The session ended (connection dropped, terminated, timed out): its lock is gone and
        /// this store never commits again; connect anew and re-acquire. Retryable.
        case sessionLost = "session_lost"
        /// A write from a store that does not hold the cluster's leader lease.
        case notLeader = "not_leader"
        /// A transaction-mode pooler (PgBouncer) sits between us and PostgreSQL: the lease's
        /// session lock cannot work through it. Fatal.
        case poolerDetected = "pooler_detected"
        /// The database was migrated by a newer breakerd. Fatal.
        case newerSchema = "newer_schema"
        /// Stored values this code cannot have written.
        case corrupt
        /// PostgreSQL refused a statement (its SQLSTATE and words are in the message).
        case server
        /// Use after `close()`.
        case closed
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var isRetryable: Bool {
        switch code {
        case .unreachable, .noPrimary, .sessionLost, .notLeader: true
        case .badURL, .wrongPassword, .unknownDatabase, .poolerDetected, .newerSchema, .corrupt, .server, .closed: false
        }
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// The same failure through `BreakerStorage`, whose callers know `StoreError` only: a lost
    /// session or lease reads as `.locked` (someone else may hold the store now), the server's
    /// refusals and network failures as `.io`; the message is kept whole.
    public var storeError: StoreError {
        let mapped: StoreError.Code = switch code {
        case .newerSchema: .newerSchema
        case .corrupt: .corrupt
        case .notLeader, .sessionLost, .poolerDetected: .locked
        case .closed: .internal
        case .badURL, .wrongPassword, .unknownDatabase, .unreachable, .noPrimary, .server: .io
        }
        return StoreError(code: mapped, message: message)
    }
}

extension PostgresStoreError: CorruptRowError {
    @usableFromInline
    package init(corruptRow message: String) { self.init(code: .corrupt, message: message) }
}
