import CSQLite

/// SQLite's "copy the bytes now" destructor; the C macro is not imported into Swift.
let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A prepared statement on a connection owned by one thread (see `BreakerDatabase`).
///
/// Thin on purpose: `loadAll` reads a million rows through it, so column access goes straight to
/// `sqlite3_column_*` without building intermediate values. Binding copies (`SQLITE_TRANSIENT`)
/// so no Swift buffer has to outlive the call.
final class SQLiteStatement {
    let handle: OpaquePointer
    private let db: OpaquePointer
    /// Names the statement in error messages; the SQL itself can be a screenful.
    let label: String

    /// `persistent` tells SQLite the statement is cached and reused for the connection's lifetime.
    init(db: OpaquePointer, sql: String, label: String? = nil, persistent: Bool = false) throws(StoreError) {
        var statement: OpaquePointer?
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let rc = sqlite3_prepare_v3(db, sql, -1, flags, &statement, nil)
        guard rc == SQLITE_OK, let statement else {
            throw StoreError.sqlite(rc, db: db, while: "prepare \(label ?? sql)")
        }
        self.handle = statement
        self.db = db
        self.label = label ?? sql
    }

    /// Must run before the connection closes; `BreakerDatabase.close()` does it for every cached one.
    func finalize() {
        sqlite3_finalize(handle)
    }

    // MARK: Binding (1-based indexes, as in SQL's ?1, ?2, …)

    func bind(_ value: Int64, at index: Int32) throws(StoreError) {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    func bind(_ value: Int64?, at index: Int32) throws(StoreError) {
        guard let value else { return try check(sqlite3_bind_null(handle, index)) }
        try bind(value, at: index)
    }

    func bind(_ value: Double?, at index: Int32) throws(StoreError) {
        guard let value else { return try check(sqlite3_bind_null(handle, index)) }
        try check(sqlite3_bind_double(handle, index, value))
    }

    func bind(_ value: String?, at index: Int32) throws(StoreError) {
        guard var value else { return try check(sqlite3_bind_null(handle, index)) }
        // Explicit length keeps embedded NULs; an empty string must stay '' rather than NULL,
        // which a nil base address would otherwise bind.
        let rc = value.withUTF8 { bytes in
            bytes.isEmpty
                ? sqlite3_bind_text(handle, index, "", 0, sqliteTransient)
                : sqlite3_bind_text(handle, index, bytes.baseAddress, Int32(bytes.count), sqliteTransient)
        }
        try check(rc)
    }

    // MARK: Stepping

    /// True when a row is available, false when the statement is done.
    func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw StoreError.sqlite(rc, db: db, while: label)
        }
    }

    /// Runs a statement that returns no rows of interest.
    func run() throws(StoreError) {
        defer { reset() }
        while try step() {}
    }

    /// Ready for reuse; bindings are cleared so a forgotten bind shows up as NULL, not stale data.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    // MARK: Columns (0-based)

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }
    func isInteger(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_INTEGER }
    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }
    func isFloat(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_FLOAT }
    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }

    /// The text of a column as raw bytes, valid until the next step/reset; nil for NULL.
    func textBytes(_ column: Int32) -> UnsafeBufferPointer<UInt8>? {
        guard let pointer = sqlite3_column_text(handle, column) else { return nil }
        return UnsafeBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(handle, column)))
    }

    func text(_ column: Int32) -> String? {
        textBytes(column).map { String(decoding: $0, as: UTF8.self) }
    }

    private func check(_ rc: Int32) throws(StoreError) {
        guard rc == SQLITE_OK else { throw StoreError.sqlite(rc, db: db, while: "bind a parameter of \(label)") }
    }
}

/// Runs SQL that takes no parameters (pragmas, schema). Only constant SQL goes through here.
func sqliteExecute(_ db: OpaquePointer, _ sql: String) throws(StoreError) {
    let statement = try SQLiteStatement(db: db, sql: sql)
    defer { statement.finalize() }
    while try statement.step() {}
}

/// The first column of the first row as an integer, for `PRAGMA x` and `count(*)` reads.
func sqliteQueryInt(_ db: OpaquePointer, _ sql: String, label: String? = nil) throws(StoreError) -> Int64 {
    let statement = try SQLiteStatement(db: db, sql: sql, label: label)
    defer { statement.finalize() }
    guard try statement.step() else { return 0 }
    return statement.int64(0)
}

/// The first column of the first row as text, for `PRAGMA journal_mode=…`.
func sqliteQueryText(_ db: OpaquePointer, _ sql: String) throws(StoreError) -> String? {
    let statement = try SQLiteStatement(db: db, sql: sql)
    defer { statement.finalize() }
    guard try statement.step() else { return nil }
    return statement.text(0)
}
