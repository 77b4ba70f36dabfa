import BreakerCore
import BreakerStore
import PostgresNIO

/// The `record_dedupe` table as the loader reads it: page by page, each row read straight from
/// the bytes postgres-nio received (`ByteBuffer.binaryText` and the like), as `PostgresBreakerRow`
/// reads breakers. A new leader reads up to `--max-dedupe-keys` (500,000 by
/// default) of them at takeover (BENCHMARKS.md, "Dedupe keys at takeover").
enum PostgresDedupeRow {
    /// Keys read per query. postgres-nio collects a query's rows by copying every row received so
    /// far on each network read (its `PSQLRowStream` appends to a non-unique array), a cost that
    /// grows with the square of the rows per query: in pages, it stays linear, each query stays
    /// far inside the query timeout, and memory holds one page of raw rows at a time.
    static let pageSize = 20_000

    private static let columns = "breaker, key, state, generation, stale, expires_ms"

    /// The keys not expired at `$1` (milliseconds since the epoch), newest expiry first, at most
    /// `$2` of them: the daemon keeps those expiring last when the table holds more than its limit.
    static let selectFirstPageSQL = "SELECT \(columns) FROM record_dedupe WHERE expires_ms > $1 "
        + "ORDER BY expires_ms DESC, breaker, key LIMIT $2"
    /// The same, after the row (`$3`, `$4`, `$5`) = (expires_ms, breaker, key) in that order. The
    /// range on `expires_ms` alone lets PostgreSQL start the scan of its index there.
    static let selectNextPageSQL = "SELECT \(columns) FROM record_dedupe WHERE expires_ms > $1 AND expires_ms <= $3 "
        + "AND (expires_ms < $3 OR (breaker, key) > ($4, $5)) ORDER BY expires_ms DESC, breaker, key LIMIT $2"

    /// The keys not expired at `now`, newest expiry first, at most `limit` of them. The next page
    /// is asked for before this one is decoded, so PostgreSQL fetches it meanwhile (a page's last
    /// row is all the next query needs). Only the lease holder writes the table, and it is the
    /// one loading, so pages read at different moments add up to one consistent list.
    static func load(from session: PostgresSession, notExpiredAt now: Timestamp, limit: Int,
                     location: @autoclosure () -> String) throws(PostgresStoreError) -> [DedupeRow] {
        /// The page after `last` (the first without it), once `loaded` rows are in; nil at `limit`.
        func page(after last: DedupeRow?, loaded: Int) throws(PostgresStoreError) -> (pending: PostgresSession.Pending, size: Int)? {
            let size = min(pageSize, limit - loaded)
            guard size > 0 else { return nil }
            var binds = PostgresBindings(capacity: 5)
            binds.append(now.millisecondsSinceEpoch)
            binds.append(Int64(size))
            var sql = selectFirstPageSQL
            if let last {
                binds.append(last.expiresMs)
                binds.append(last.breaker)
                binds.append(last.key)
                sql = selectNextPageSQL
            }
            return (try session.send(PostgresQuery(unsafeSQL: sql, binds: binds), "load dedupe keys"), size)
        }
        var result: [DedupeRow] = []
        var next = try page(after: nil, loaded: 0)
        while case let (pending, size)? = next {
            let rows = try session.wait(pending)
            next = nil
            if rows.count == size, let tail = rows.last {
                next = try page(after: try read(tail, location: location()), loaded: result.count + size)
            }
            for row in rows { result.append(try read(row, location: location())) }
        }
        return result
    }

    /// Decodes one row of `selectFirstPageSQL` or `selectNextPageSQL`. Anything the batch writer
    /// could not have written (a cell in text format, another type than the column's, NULL, wrong
    /// length, an unknown state) is `.corrupt`: a guessed answer would be replayed to a client as
    /// the first record's.
    /// `location` is only evaluated for an error.
    static func read(_ row: PostgresRow, location: @autoclosure () -> String) throws(PostgresStoreError) -> DedupeRow {
        var cells = row.makeIterator()
        guard row.count == 6,
              let breaker = text(cells.next()), let key = text(cells.next()),
              let stateName = text(cells.next()), let state = BreakerState(wireName: stateName),
              let generation = int8(cells.next()), let stale = bool(cells.next()), let expiresMs = int8(cells.next())
        else {
            throw PostgresStoreError(code: .corrupt, message: "database \(location()): unreadable record_dedupe row")
        }
        return DedupeRow(breaker: breaker, key: key, state: state, generation: UInt64(bitPattern: generation),
                         stale: stale, expiresMs: expiresMs)
    }

    /// The bytes of a non-NULL binary cell of `type` (or `alias`).
    private static func bytes(_ cell: PostgresCell?, _ type: PostgresDataType, or alias: PostgresDataType? = nil) -> ByteBuffer? {
        guard let cell, cell.format == .binary, cell.dataType == type || cell.dataType == alias else { return nil }
        return cell.bytes
    }

    private static func text(_ cell: PostgresCell?) -> String? { bytes(cell, .text, or: .varchar)?.binaryText }

    private static func int8(_ cell: PostgresCell?) -> Int64? { bytes(cell, .int8)?.binaryInt8 }

    private static func bool(_ cell: PostgresCell?) -> Bool? { bytes(cell, .bool)?.binaryBool }
}
