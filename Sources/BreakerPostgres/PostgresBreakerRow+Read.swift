import BreakerCore
import BreakerStore
import PostgresNIO

extension PostgresBreakerRow {
    /// One row's cells as raw bytes, checked against `selectedColumns` (binary format, the column's
    /// type) and read straight from the bytes postgres-nio received, without
    /// `PostgresCell.decode` (a million rows go through here at takeover). Reused from row to
    /// row, so reading a row allocates nothing but the breaker. Columns are typed: a NULL where a
    /// value belongs is missing, not a wrong type.
    struct Cells: BreakerRowCells {
        private var bytes: [ByteBuffer?] = []

        init() { bytes.reserveCapacity(selectedColumns.count) }

        static var nullIsWrongType: Bool { false }

        static func columnName(_ column: Int) -> String { selectedColumns[column].name }

        /// Takes `row`'s cells; false if their number, format or types are not `selectedColumns`'.
        mutating func load(_ row: PostgresRow) -> Bool {
            bytes.removeAll(keepingCapacity: true)
            for cell in row {
                guard bytes.count < selectedColumns.count, cell.format == .binary else { return false }
                switch (cell.dataType, selectedColumns[bytes.count].kind) {
                case (.int8, .int8), (.float8, .float8), (.text, .text), (.varchar, .text): bytes.append(cell.bytes)
                default: return false
                }
            }
            return bytes.count == selectedColumns.count
        }

        func isNull(_ column: Int) -> Bool { bytes[column] == nil }

        /// `.wrongType` for bytes that are not 8 long.
        func integer(_ column: Int) -> BreakerRowCell<Int64> {
            guard let cell = bytes[column] else { return .null }
            return cell.binaryInt8.map { .value($0) } ?? .wrongType
        }

        func double(_ column: Int) -> BreakerRowCell<Double> {
            guard let cell = bytes[column] else { return .null }
            return cell.binaryInt8.map { .value(Double(bitPattern: UInt64(bitPattern: $0))) } ?? .wrongType
        }

        func text(_ column: Int) -> String? {
            bytes[column]?.binaryText
        }

        func withTextBytes<R>(_ column: Int, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
            guard let buffer = bytes[column] else { return body(nil) }
            return buffer.withUnsafeReadableBytes { body($0.assumingMemoryBound(to: UInt8.self)) }
        }
    }

    /// Decodes one row of `selectChangesSQL` (through `cells`' storage; `StoredBreakerRow.decode`):
    /// the breaker and its change number. A value `values` could not have written is `.corrupt`,
    /// naming the database at `location` and the breaker.
    static func read(_ row: PostgresRow, into cells: inout Cells,
                     location: String) throws(PostgresStoreError) -> (breaker: StoredBreaker, change: Int64) {
        guard cells.load(row) else {
            throw PostgresStoreError(corruptRow: StoredBreakerRow.unnamedMessage(location))
        }
        let breaker = try StoredBreakerRow.decode(cells, location: location, as: PostgresStoreError.self)
        let change = try StoredBreakerRow.integer(35, of: cells, breaker: breaker.name, location: location,
                                                  as: PostgresStoreError.self)
        return (breaker, change)
    }
}
