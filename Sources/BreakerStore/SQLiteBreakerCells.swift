import CSQLite

/// `BreakerRow.selectAllSQL`'s current row as `StoredBreakerRow.decode` reads it. SQLite types
/// each value, not each column: a NULL where a number belongs is one more wrong type, and an
/// integer stands for a REAL (a backoff multiplier of 2 may come back as the integer 2).
struct SQLiteBreakerCells: BreakerRowCells {
    let statement: SQLiteStatement

    static var nullIsWrongType: Bool { true }

    static func columnName(_ column: Int) -> String { StoredBreakerRow.columns[column].name }

    func isNull(_ column: Int) -> Bool { statement.isNull(Int32(column)) }

    func text(_ column: Int) -> String? { statement.text(Int32(column)) }

    func integer(_ column: Int) -> BreakerRowCell<Int64> {
        switch sqlite3_column_type(statement.handle, Int32(column)) {
        case SQLITE_INTEGER: .value(statement.int64(Int32(column)))
        case SQLITE_NULL: .null
        default: .wrongType
        }
    }

    func double(_ column: Int) -> BreakerRowCell<Double> {
        switch sqlite3_column_type(statement.handle, Int32(column)) {
        case SQLITE_FLOAT, SQLITE_INTEGER: .value(statement.double(Int32(column)))
        case SQLITE_NULL: .null
        default: .wrongType
        }
    }

    func withTextBytes<Result>(_ column: Int, _ body: (UnsafeBufferPointer<UInt8>?) -> Result) -> Result {
        body(statement.textBytes(Int32(column)))
    }
}
