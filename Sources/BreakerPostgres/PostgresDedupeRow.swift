import BreakerCore
import BreakerStore
import PostgresNIO

/// The `record_dedupe` table as the loader reads it: one query for the keys still remembered,
/// and one row at a time read straight from the bytes postgres-nio received (text is UTF-8, int8
/// 8 big-endian bytes, bool 1 byte), as `PostgresBreakerRow` reads breakers. A new leader reads
/// up to `--max-dedupe-keys` (500,000 by default) of them at takeover; postgres-nio's variadic
/// `row.decode` of the 6-tuple cost ~3.5 µs a row there (BENCHMARKS.md, "Dedupe keys at
/// takeover").
enum PostgresDedupeRow {
    /// The keys not expired at `$1` (milliseconds since the epoch), newest expiry first, at most
    /// `$2` of them: the daemon keeps those expiring last when the table holds more than its limit.
    static let selectSQL = "SELECT breaker, key, state, generation, stale, expires_ms FROM record_dedupe "
        + "WHERE expires_ms > $1 ORDER BY expires_ms DESC, breaker, key LIMIT $2"

    /// `selectSQL` with its parameters bound.
    static func select(notExpiredAt now: Timestamp, limit: Int) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 2)
        binds.append(now.millisecondsSinceEpoch)
        binds.append(Int64(clamping: limit))
        return PostgresQuery(unsafeSQL: selectSQL, binds: binds)
    }

    /// Decodes one row of `selectSQL`. Anything the batch writer could not have written (a cell
    /// in text format, another type than the column's, NULL, wrong length, an unknown state) is
    /// `.corrupt`: a guessed answer would be replayed to a client as the first record's.
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

    private static func text(_ cell: PostgresCell?) -> String? {
        guard let buffer = bytes(cell, .text, or: .varchar) else { return nil }
        return buffer.getString(at: buffer.readerIndex, length: buffer.readableBytes)
    }

    private static func int8(_ cell: PostgresCell?) -> Int64? {
        guard let buffer = bytes(cell, .int8), buffer.readableBytes == 8 else { return nil }
        return buffer.getInteger(at: buffer.readerIndex, endianness: .big, as: Int64.self)
    }

    private static func bool(_ cell: PostgresCell?) -> Bool? {
        guard let buffer = bytes(cell, .bool), buffer.readableBytes == 1 else { return nil }
        switch buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) {
        case 0: return false
        case 1: return true
        default: return nil
        }
    }
}
