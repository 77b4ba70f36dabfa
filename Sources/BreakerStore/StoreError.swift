import CSQLite

/// Why the store could not do what was asked. `code` is stable and meant for metrics, logs and
/// the daemon's exit status; `message` is for people and keeps SQLite's own words and extended
/// result code, so an operator can tell a full disk from a permission problem without a debugger.
public struct StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// Another breakerd holds the database file.
        case locked
        /// The file is not a SQLite database, or its contents make no sense to this code.
        case corrupt
        /// Written by a newer breakerd; left untouched so that version can still use it.
        case newerSchema = "newer_schema"
        /// The disk (or SQLite's page limit) is full.
        case full
        /// The file system refused: read-only, I/O error, cannot open.
        case io
        /// Anything else, including use after `close()`.
        case `internal`
    }

    public var code: Code
    public var message: String

    public init(code: Code, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

extension StoreError {
    /// Maps a SQLite result code. NOTADB and CORRUPT always mean the file cannot be trusted,
    /// whatever operation found out; the rest follows the brief: FULL, the three I/O-ish codes,
    /// and `internal` for everything else (constraint violations, misuse, out of memory).
    static func sqlite(_ resultCode: Int32, db: OpaquePointer?, while action: String) -> StoreError {
        let detail = db.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(resultCode))
        let message = "\(action): \(detail) (SQLite extended code \(resultCode))"
        return StoreError(code: code(forSQLite: resultCode), message: message)
    }

    static func code(forSQLite resultCode: Int32) -> Code {
        switch resultCode & 0xFF {
        case SQLITE_FULL: .full
        case SQLITE_READONLY, SQLITE_IOERR, SQLITE_CANTOPEN: .io
        case SQLITE_NOTADB, SQLITE_CORRUPT: .corrupt
        default: .internal
        }
    }

    static func closed(_ path: String) -> StoreError {
        StoreError(code: .internal, message: "database \(path) is closed")
    }
}

extension StoreError: CorruptRowError {
    @usableFromInline
    package init(corruptRow message: String) { self.init(code: .corrupt, message: message) }
}
