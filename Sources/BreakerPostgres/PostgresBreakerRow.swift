import BreakerCore
import BreakerStore
import PostgresNIO

/// The `breakers` table's columns, shared by the batch upsert and the loader so they cannot
/// drift. A batch binds each column as one array and the upsert `unnest`s them: one round trip
/// for 1 or 1000 snapshots.
enum PostgresBreakerRow {
    enum Kind: String {
        case text, int8, float8

        init(_ type: StoredBreakerRow.ColumnType) {
            switch type {
            case .text: self = .text
            case .integer: self = .int8
            case .real: self = .float8
            }
        }
    }

    /// `StoredBreakerRow.columns` with their PostgreSQL types.
    static let columns: [(name: String, kind: Kind)] = StoredBreakerRow.columns.map { ($0.name, Kind($0.type)) }

    /// The upsert, its column arrays bound from parameter `$first` on.
    static func upsertSQL(first: Int) -> String {
        let arrays = columns.enumerated().map { "$\($0.offset + first)::\($0.element.kind.rawValue)[]" }.joined(separator: ", ")
        return "INSERT INTO breakers (\(columnList)) SELECT * FROM unnest(\(arrays)) ON CONFLICT (name) DO UPDATE SET \(updates)"
    }

    private static let columnList = columns.map(\.name).joined(separator: ", ")
    /// An updated row keeps the change number its insert drew (`excluded.change_seq`, the
    /// column's default): one `nextval` per row either way (see `PostgresSchema`, version 3).
    private static let updates = (columns.dropFirst().map(\.name) + ["change_seq"])
        .map { "\($0) = excluded.\($0)" }.joined(separator: ", ")

    /// Breakers read per query at load: each page is a short statement well inside the query
    /// timeout, and memory holds one page of raw rows at a time, not the whole table.
    static let pageSize = 20_000

    /// What a load reads: `columns`, then the row's change number.
    static let selectedColumns = columns + [("change_seq", .int8)]

    /// The page of breakers changed after change number `$1`, oldest change first (through
    /// `breakers_by_change`). A whole load is the pages after 0; a standby's catch-up, the pages
    /// after the last number it applied.
    static let selectChangesSQL = "SELECT \(selectedColumns.map(\.name).joined(separator: ", ")) FROM breakers "
        + "WHERE change_seq > $1 ORDER BY change_seq LIMIT \(pageSize)"

    enum Value {
        case text(String?), int8(Int64?), float8(Double?)
    }

    /// One snapshot as column values, in `columns` order; unsigned values by bit pattern.
    static func values(_ stored: StoredBreaker) -> [Value] {
        let breaker = stored.breaker
        let config = breaker.config
        let metrics = breaker.metrics
        let window: (kind: String, size: Int) = switch config.window {
        case .count(let size): ("count", size)
        case .time(let seconds): ("time", seconds)
        }
        return [
            .text(stored.name), .int8(Int64(config.failureThreshold)), .int8(Int64(config.successThreshold)),
            .int8(config.timeoutMs), .int8(Int64(config.halfOpenMaxCalls)), .int8(config.halfOpenPermitTimeoutMs),
            .text(breaker.state.wireName), .int8(Int64(bitPattern: breaker.generation)), .int8(Int64(breaker.failureCount)),
            .int8(Int64(breaker.successCount)), .int8(breaker.openUntil?.millisecondsSinceEpoch),
            .int8(Int64(bitPattern: metrics.totalCalls)), .int8(Int64(bitPattern: metrics.successfulCalls)),
            .int8(Int64(bitPattern: metrics.failedCalls)), .int8(Int64(bitPattern: metrics.rejectedCalls)),
            .text(TransitionCounts.encode(metrics.transitions)), .int8(metrics.lastFailureTime?.millisecondsSinceEpoch),
            .int8(metrics.lastStateChange.millisecondsSinceEpoch), .text(breaker.forced?.reason), .text(breaker.forced?.actor),
            .int8(breaker.forced?.at.millisecondsSinceEpoch), .text(config.policy.wireName), .text(window.kind),
            .int8(Int64(window.size)), .int8(Int64(config.failureRateThreshold)), .int8(Int64(config.minimumCalls)),
            .int8(config.slowCallDurationMs), .int8(Int64(config.slowCallRateThreshold)),
            .float8(config.timeoutBackoff?.multiplier), .int8(config.timeoutBackoff?.maxMs),
            .int8(config.minReporters.map(Int64.init)), .text(config.mode.wireName), .int8(Int64(breaker.reopenCount)),
            .text(breaker.lastTransition?.from.wireName), .text(breaker.lastTransition?.reason.wireName),
        ]
    }

    /// Binds a whole batch's snapshots, each column as one array (`upsertSQL`'s parameters).
    static func bindUpsert(_ breakers: [StoredBreaker], into binds: inout PostgresBindings) {
        var texts = Array(repeating: [String?](), count: columns.count)
        var ints = Array(repeating: [Int64?](), count: columns.count)
        var doubles = Array(repeating: [Double?](), count: columns.count)
        for stored in breakers {
            for (index, value) in values(stored).enumerated() {
                switch value {
                case .text(let text): texts[index].append(text)
                case .int8(let int): ints[index].append(int)
                case .float8(let double): doubles[index].append(double)
                }
            }
        }
        for (index, column) in columns.enumerated() {
            switch column.kind {
            case .text: binds.append(NullableArray(elements: texts[index]))
            case .int8: binds.append(NullableArray(elements: ints[index]))
            case .float8: binds.append(NullableArray(elements: doubles[index]))
            }
        }
    }
}
