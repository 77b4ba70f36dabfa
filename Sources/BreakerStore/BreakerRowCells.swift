/// One stored breaker row's cells, as `StoredBreakerRow.decode` reads them: the one thing each
/// store supplies (SQLite's statement row, PostgreSQL's binary cells). Columns are 0-based, in
/// `StoredBreakerRow.columns` order; a store may select more after them.
///
/// What differs between the stores lives here, not in the decoder: how a cell's bytes become a
/// value, which types stand for which (SQLite lets an integer stand for a REAL), and what a NULL
/// where a value belongs is called (`nullIsWrongType`).
@usableFromInline
package protocol BreakerRowCells {
    /// True where typing is per value (SQLite): a NULL where a value belongs is one more wrong
    /// type ("a non-integer x", "a non-numeric backoff_multiplier"). False where columns are
    /// typed (PostgreSQL): it is missing ("a NULL x", "a backoff_max_ms without
    /// backoff_multiplier").
    static var nullIsWrongType: Bool { get }
    /// The column's name, for messages.
    static func columnName(_ column: Int) -> String
    func isNull(_ column: Int) -> Bool
    /// The column as text; nil for NULL.
    func text(_ column: Int) -> String?
    func integer(_ column: Int) -> BreakerRowCell<Int64>
    func double(_ column: Int) -> BreakerRowCell<Double>
    /// The column's text as raw UTF-8 bytes (nil for NULL), valid only inside `body`.
    func withTextBytes<Result>(_ column: Int, _ body: (UnsafeBufferPointer<UInt8>?) -> Result) -> Result
}

/// A cell read as a number: its value, NULL, or something that is not that kind of number.
@usableFromInline
package enum BreakerRowCell<Value> {
    case value(Value)
    case null
    case wrongType
}
