import BreakerCore

/// A stored breaker's row, for both stores: its columns and what they mean. SQLite
/// (`BreakerRow`) and PostgreSQL (`PostgresBreakerRow`) write these columns in this order and
/// read them back through `decode`, each through its own `BreakerRowCells`.
///
/// Unsigned counters and generations are stored by bit pattern: both databases' integers are
/// signed 64-bit, and a counter past `Int64.max` must come back exactly rather than fail the write.
@usableFromInline
package enum StoredBreakerRow {
    package enum ColumnType: Sendable { case text, integer, real }

    package static let columns: [(name: String, type: ColumnType)] = [
        ("name", .text), ("failure_threshold", .integer), ("success_threshold", .integer), ("timeout_ms", .integer),
        ("half_open_max_calls", .integer), ("half_open_permit_timeout_ms", .integer), ("state", .text),
        ("generation", .integer), ("failure_count", .integer), ("success_count", .integer), ("open_until_ms", .integer),
        ("total_calls", .integer), ("successful_calls", .integer), ("failed_calls", .integer),
        ("rejected_calls", .integer), ("transitions", .text), ("last_failure_ms", .integer),
        ("last_state_change_ms", .integer), ("forced_reason", .text), ("forced_by", .text), ("forced_at_ms", .integer),
        ("policy", .text), ("window_kind", .text), ("window_size", .integer), ("failure_rate_threshold", .integer),
        ("minimum_calls", .integer), ("slow_call_duration_ms", .integer), ("slow_call_rate_threshold", .integer),
        ("backoff_multiplier", .real), ("backoff_max_ms", .integer), ("min_reporters", .integer), ("mode", .text),
        ("reopen_count", .integer), ("last_from", .text), ("last_reason", .text),
    ]

    /// Decodes one row's `columns`. Anything the store could not have written (wrong type,
    /// unknown state, configuration out of range) is a `Failure` naming the database at
    /// `location` and the breaker: restoring a guess would silently change how a dependency is
    /// protected.
    ///
    /// Inlinable so each store's call is specialised for its cells: PostgreSQL decodes a million
    /// rows at a cold load, and the unspecialised generic would go through witness tables per cell.
    /// Everything the body names must be `@usableFromInline` (this enum included): without that
    /// on the enum, Swift 6.3 took `@inlinable` here without a word and BreakerPostgres called the
    /// unspecialised generic (seen in the release binary's disassembly).
    @inlinable
    package static func decode<Cells: BreakerRowCells, Failure: CorruptRowError>(
        _ cells: Cells, location: String, as _: Failure.Type
    ) throws(Failure) -> StoredBreaker {
        guard let name = cells.text(0) else { throw Failure(corruptRow: unnamedMessage(location)) }
        let row = Reader<Cells, Failure>(cells: cells, location: location, name: name)

        let policyText = cells.text(21) ?? ""
        guard let policy = TripPolicy(rawValue: policyText) else { throw row.corrupt("an unknown policy \"\(policyText)\"") }
        let window: WindowSpec
        switch cells.text(22) {
        case "count": window = .count(size: try row.count(23))
        case "time": window = .time(seconds: try row.count(23))
        case let other: throw row.corrupt("an unknown window kind \"\(other ?? "NULL")\"")
        }
        let modeText = cells.text(31) ?? ""
        guard let mode = BreakerMode(rawValue: modeText) else { throw row.corrupt("an unknown mode \"\(modeText)\"") }
        var multiplier: Double?
        switch cells.double(28) {
        case .value(let value): multiplier = value
        case .null: break
        case .wrongType: throw row.corrupt("a non-numeric backoff_multiplier")
        }
        var backoff: TimeoutBackoff?
        if multiplier != nil || !cells.isNull(29) {
            guard let multiplier else {
                throw row.corrupt(Cells.nullIsWrongType ? "a non-numeric backoff_multiplier" : "a backoff_max_ms without backoff_multiplier")
            }
            backoff = TimeoutBackoff(multiplier: multiplier, maxMs: try row.integer(29))
        }
        let config = BreakerConfig(
            failureThreshold: try row.count(1), successThreshold: try row.count(2), timeoutMs: try row.integer(3),
            halfOpenMaxCalls: try row.count(4), halfOpenPermitTimeoutMs: try row.integer(5),
            policy: policy, window: window, failureRateThreshold: try row.count(24), minimumCalls: try row.count(25),
            slowCallDurationMs: try row.optionalInteger(26), slowCallRateThreshold: try row.count(27), timeoutBackoff: backoff,
            minReporters: try row.optionalInteger(30).map { Int(clamping: $0) }, mode: mode)
        do { try config.validate() } catch { throw row.corrupt("an invalid configuration (\(error.message))") }

        var lastTransition: LastTransition?
        if !cells.isNull(33) || !cells.isNull(34) {
            let from = cells.text(33) ?? "NULL", reason = cells.text(34) ?? "NULL"
            guard let fromState = BreakerState(wireName: from) else { throw row.corrupt("an unknown last_from \"\(from)\"") }
            guard let why = TransitionReason(rawValue: reason) else { throw row.corrupt("an unknown last_reason \"\(reason)\"") }
            lastTransition = LastTransition(from: fromState, reason: why)
        }
        let stateText = cells.text(6) ?? ""
        guard let state = BreakerState(wireName: stateText) else { throw row.corrupt("an unknown state \"\(stateText)\"") }
        guard let transitions = cells.withTextBytes(15, { $0.flatMap(TransitionCounts.decode) }) else {
            throw row.corrupt("unreadable transition counts \"\(cells.text(15) ?? "NULL")\"")
        }
        let metrics = BreakerMetrics(
            totalCalls: UInt64(bitPattern: try row.integer(11)), successfulCalls: UInt64(bitPattern: try row.integer(12)),
            failedCalls: UInt64(bitPattern: try row.integer(13)), rejectedCalls: UInt64(bitPattern: try row.integer(14)),
            transitions: transitions,
            lastFailureTime: try row.optionalInteger(16).map(Timestamp.init(millisecondsSinceEpoch:)),
            lastStateChange: Timestamp(millisecondsSinceEpoch: try row.integer(17)))
        let forced = try row.optionalInteger(20).map {
            ForcedOpen(reason: cells.text(18), actor: cells.text(19), at: Timestamp(millisecondsSinceEpoch: $0))
        }
        let breaker = CircuitBreaker(
            config: config, state: state, generation: UInt64(bitPattern: try row.integer(7)),
            failureCount: try row.count(8), successCount: try row.count(9),
            openUntil: try row.optionalInteger(10).map(Timestamp.init(millisecondsSinceEpoch:)),
            metrics: metrics, forced: forced, reopenCount: try row.count(32), lastTransition: lastTransition)
        return StoredBreaker(name: name, breaker: breaker)
    }

    /// A column a store selects after `columns` (PostgreSQL's change number), read as a non-NULL
    /// integer of breaker `name`, with `decode`'s messages.
    @inlinable
    package static func integer<Cells: BreakerRowCells, Failure: CorruptRowError>(
        _ column: Int, of cells: Cells, breaker name: String, location: String, as _: Failure.Type
    ) throws(Failure) -> Int64 {
        try Reader<Cells, Failure>(cells: cells, location: location, name: name).integer(column)
    }

    @usableFromInline
    package static func unnamedMessage(_ location: String) -> String {
        "database \(location): a breaker row has no name"
    }

    /// A named row's cells read as numbers, each failure a `Failure` naming the breaker.
    @usableFromInline
    struct Reader<Cells: BreakerRowCells, Failure: CorruptRowError> {
        @usableFromInline let cells: Cells
        @usableFromInline let location: String
        @usableFromInline let name: String

        @inlinable
        init(cells: Cells, location: String, name: String) {
            self.cells = cells
            self.location = location
            self.name = name
        }

        @inlinable
        func corrupt(_ what: String) -> Failure {
            Failure(corruptRow: StoredBreakerRow.corruptMessage(location, breaker: name, has: what))
        }

        @inlinable
        func integer(_ column: Int) throws(Failure) -> Int64 {
            switch cells.integer(column) {
            case .value(let value): return value
            case .null where !Cells.nullIsWrongType: throw corrupt("a NULL \(Cells.columnName(column))")
            case .null, .wrongType: throw corrupt("a non-integer \(Cells.columnName(column))")
            }
        }

        @inlinable
        func optionalInteger(_ column: Int) throws(Failure) -> Int64? {
            switch cells.integer(column) {
            case .value(let value): return value
            case .null: return nil
            case .wrongType: throw corrupt("a non-integer \(Cells.columnName(column))")
            }
        }

        @inlinable
        func count(_ column: Int) throws(Failure) -> Int {
            let value = try integer(column)
            guard value >= 0 else { throw corrupt("a negative \(Cells.columnName(column))") }
            return Int(value)
        }
    }

    @usableFromInline
    static func corruptMessage(_ location: String, breaker name: String, has what: String) -> String {
        "database \(location): breaker \"\(name)\" has \(what)"
    }
}

/// A store's error for a row it could not have written (`StoreError` and `PostgresStoreError`,
/// code `corrupt`), as `StoredBreakerRow.decode` throws it.
@usableFromInline
package protocol CorruptRowError: Error {
    init(corruptRow message: String)
}
