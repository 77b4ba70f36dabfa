import CSQLite

/// The dependency the example guards: a small SQLite database of orders, queried with the C
/// API directly. Every call can fail (a locked file, a missing table, a full disk) — which is
/// what the breaker is for.
final class OrdersDatabase {
    struct SQLiteError: Error, CustomStringConvertible {
        var code: Int32
        var message: String
        var description: String { "SQLite error \(code): \(message)" }
    }

    private var handle: OpaquePointer?

    init(path: String) throws {
        guard sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nil) == SQLITE_OK else {
            let error = SQLiteError(code: sqlite3_errcode(handle), message: String(cString: sqlite3_errmsg(handle)))
            sqlite3_close(handle)
            throw error
        }
        sqlite3_busy_timeout(handle, 100)
    }

    deinit { sqlite3_close(handle) }

    /// Creates the table and some orders, if it is not there yet.
    func seed(orders: Int) throws {
        try execute("CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, amount_cents INTEGER NOT NULL)")
        guard try scalar("SELECT count(*) FROM orders") == 0 else { return }
        try execute("BEGIN")
        for id in 1...orders { try execute("INSERT INTO orders (id, amount_cents) VALUES (\(id), \(id * 37 % 10_000))") }
        try execute("COMMIT")
    }

    /// The revenue of one customer segment, in cents. `table` is a parameter only so the
    /// example can simulate an outage by querying a table that does not exist.
    func revenue(segment: Int, table: String = "orders") throws -> Int64 {
        try scalar("SELECT coalesce(sum(amount_cents), 0) FROM \(table) WHERE id % 10 = \(segment % 10)")
    }

    private func execute(_ sql: String) throws {
        guard sqlite3_exec(handle, sql, nil, nil, nil) == SQLITE_OK else { throw lastError() }
    }

    private func scalar(_ sql: String) throws -> Int64 {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(handle, sql, -1, &statement, nil) == SQLITE_OK else { throw lastError() }
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { throw lastError() }
        return sqlite3_column_int64(statement, 0)
    }

    private func lastError() -> SQLiteError {
        SQLiteError(code: sqlite3_errcode(handle), message: String(cString: sqlite3_errmsg(handle)))
    }
}
