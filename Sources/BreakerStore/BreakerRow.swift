import BreakerCore

/// The `breakers` table's row layout, shared by the upsert and the loader so they cannot drift.
///
/// Unsigned counters and generations are stored by bit pattern: SQLite integers are signed
/// 64-bit, and a counter past `Int64.max` must come back exactly rather than fail the write.
enum BreakerRow {
    static let columns = [
        "name", "failure_threshold", "success_threshold", "timeout_ms", "half_open_max_calls",
        "half_open_permit_timeout_ms", "state", "generation", "failure_count", "success_count",
        "open_until_ms", "total_calls", "successful_calls", "failed_calls", "rejected_calls",
        "transitions", "last_failure_ms", "last_state_change_ms", "forced_reason", "forced_by", "forced_at_ms",
        "policy", "window_kind", "window_size", "failure_rate_threshold", "minimum_calls", "slow_call_duration_ms",
        "slow_call_rate_threshold", "backoff_multiplier", "backoff_max_ms", "min_reporters", "mode", "reopen_count",
        "last_from", "last_reason",
    ]

    static let upsertSQL: String = {
        let values = (1...columns.count).map { "?\($0)" }.joined(separator: ", ")
        let updates = columns.dropFirst().map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
        return "INSERT INTO breakers (\(columns.joined(separator: ", "))) VALUES (\(values)) "
            + "ON CONFLICT(name) DO UPDATE SET \(updates)"
    }()

    static let selectAllSQL = "SELECT \(columns.joined(separator: ", ")) FROM breakers ORDER BY name"

    static func bind(_ stored: StoredBreaker, to statement: SQLiteStatement) throws(StoreError) {
        let breaker = stored.breaker
        let config = breaker.config
        let metrics = breaker.metrics
        try statement.bind(stored.name, at: 1)
        try statement.bind(Int64(config.failureThreshold), at: 2)
        try statement.bind(Int64(config.successThreshold), at: 3)
        try statement.bind(config.timeoutMs, at: 4)
        try statement.bind(Int64(config.halfOpenMaxCalls), at: 5)
        try statement.bind(config.halfOpenPermitTimeoutMs, at: 6)
        try statement.bind(breaker.state.wireName, at: 7)
        try statement.bind(Int64(bitPattern: breaker.generation), at: 8)
        try statement.bind(Int64(breaker.failureCount), at: 9)
        try statement.bind(Int64(breaker.successCount), at: 10)
        try statement.bind(breaker.openUntil?.millisecondsSinceEpoch, at: 11)
        try statement.bind(Int64(bitPattern: metrics.totalCalls), at: 12)
        try statement.bind(Int64(bitPattern: metrics.successfulCalls), at: 13)
        try statement.bind(Int64(bitPattern: metrics.failedCalls), at: 14)
        try statement.bind(Int64(bitPattern: metrics.rejectedCalls), at: 15)
        try statement.bind(TransitionCounts.encode(metrics.transitions), at: 16)
        try statement.bind(metrics.lastFailureTime?.millisecondsSinceEpoch, at: 17)
        try statement.bind(metrics.lastStateChange.millisecondsSinceEpoch, at: 18)
        try statement.bind(breaker.forced?.reason, at: 19)
        try statement.bind(breaker.forced?.actor, at: 20)
        try statement.bind(breaker.forced?.at.millisecondsSinceEpoch, at: 21)
        try statement.bind(config.policy.wireName, at: 22)
        switch config.window {
        case .count(let size):
            try statement.bind("count", at: 23)
            try statement.bind(Int64(size), at: 24)
        case .time(let seconds):
            try statement.bind("time", at: 23)
            try statement.bind(Int64(seconds), at: 24)
        }
        try statement.bind(Int64(config.failureRateThreshold), at: 25)
        try statement.bind(Int64(config.minimumCalls), at: 26)
        try statement.bind(config.slowCallDurationMs, at: 27)
        try statement.bind(Int64(config.slowCallRateThreshold), at: 28)
        try statement.bind(config.timeoutBackoff?.multiplier, at: 29)
        try statement.bind(config.timeoutBackoff?.maxMs, at: 30)
        try statement.bind(config.minReporters.map(Int64.init), at: 31)
        try statement.bind(config.mode.wireName, at: 32)
        try statement.bind(Int64(breaker.reopenCount), at: 33)
        try statement.bind(breaker.lastTransition?.from.wireName, at: 34)
        try statement.bind(breaker.lastTransition?.reason.wireName, at: 35)
    }

    /// Decodes the current row of `selectAllSQL`. Anything that could not have been written by
    /// `bind` (wrong type, unknown state, config out of range) is `.corrupt`, naming the breaker:
    /// restoring a guess would silently change how a dependency is protected.
    static func read(_ row: SQLiteStatement, path: String) throws(StoreError) -> StoredBreaker {
        guard let nameBytes = row.textBytes(0) else {
            throw StoreError(code: .corrupt, message: "database \(path): a breaker row has no name")
        }
        let name = String(decoding: nameBytes, as: UTF8.self)
        func corrupt(_ what: String) -> StoreError {
            StoreError(code: .corrupt, message: "database \(path): breaker \"\(name)\" has \(what)")
        }
        func integer(_ column: Int32) throws(StoreError) -> Int64 {
            guard row.isInteger(column) else { throw corrupt("a non-integer \(columns[Int(column)])") }
            return row.int64(column)
        }
        func optionalInteger(_ column: Int32) throws(StoreError) -> Int64? {
            row.isNull(column) ? nil : try integer(column)
        }
        func count(_ column: Int32) throws(StoreError) -> Int {
            let value = try integer(column)
            guard value >= 0 else { throw corrupt("a negative \(columns[Int(column)])") }
            return Int(value)
        }

        let policyText = row.text(21) ?? ""
        guard let policy = TripPolicy(rawValue: policyText) else { throw corrupt("an unknown policy \"\(policyText)\"") }
        let window: WindowSpec
        switch row.text(22) {
        case "count": window = .count(size: try count(23))
        case "time": window = .time(seconds: try count(23))
        case let other: throw corrupt("an unknown window kind \"\(other ?? "NULL")\"")
        }
        let modeText = row.text(31) ?? ""
        guard let mode = BreakerMode(rawValue: modeText) else { throw corrupt("an unknown mode \"\(modeText)\"") }
        var backoff: TimeoutBackoff?
        if !row.isNull(28) || !row.isNull(29) {
            guard row.isFloat(28) || row.isInteger(28) else { throw corrupt("a non-numeric backoff_multiplier") }
            backoff = TimeoutBackoff(multiplier: row.double(28), maxMs: try integer(29))
        }
        let config = BreakerConfig(
            failureThreshold: try count(1), successThreshold: try count(2), timeoutMs: try integer(3),
            halfOpenMaxCalls: try count(4), halfOpenPermitTimeoutMs: try integer(5),
            policy: policy, window: window, failureRateThreshold: try count(24), minimumCalls: try count(25),
            slowCallDurationMs: try optionalInteger(26), slowCallRateThreshold: try count(27), timeoutBackoff: backoff,
            minReporters: try optionalInteger(30).map { Int(clamping: $0) }, mode: mode)
        do { try config.validate() } catch { throw corrupt("an invalid configuration (\(error.message))") }

        func lastTransition() throws(StoreError) -> LastTransition? {
            if row.isNull(33) && row.isNull(34) { return nil }
            let from = row.text(33) ?? "NULL", reason = row.text(34) ?? "NULL"
            guard let fromState = BreakerState(wireName: from) else { throw corrupt("an unknown last_from \"\(from)\"") }
            guard let why = TransitionReason(rawValue: reason) else { throw corrupt("an unknown last_reason \"\(reason)\"") }
            return LastTransition(from: fromState, reason: why)
        }

        let stateText = row.text(6) ?? ""
        guard let state = BreakerState(wireName: stateText) else { throw corrupt("an unknown state \"\(stateText)\"") }
        guard let transitionBytes = row.textBytes(15), let transitions = TransitionCounts.decode(transitionBytes) else {
            throw corrupt("unreadable transition counts \"\(row.text(15) ?? "NULL")\"")
        }
        let metrics = BreakerMetrics(
            totalCalls: UInt64(bitPattern: try integer(11)),
            successfulCalls: UInt64(bitPattern: try integer(12)),
            failedCalls: UInt64(bitPattern: try integer(13)),
            rejectedCalls: UInt64(bitPattern: try integer(14)),
            transitions: transitions,
            lastFailureTime: try optionalInteger(16).map(Timestamp.init(millisecondsSinceEpoch:)),
            lastStateChange: Timestamp(millisecondsSinceEpoch: try integer(17)))
        let breaker = CircuitBreaker(
            config: config, state: state, generation: UInt64(bitPattern: try integer(7)),
            failureCount: try count(8), successCount: try count(9),
            openUntil: try optionalInteger(10).map(Timestamp.init(millisecondsSinceEpoch:)),
            metrics: metrics,
            forced: try optionalInteger(20).map {
                ForcedOpen(reason: row.text(18), actor: row.text(19), at: Timestamp(millisecondsSinceEpoch: $0))
            },
            reopenCount: try count(32), lastTransition: try lastTransition())
        return StoredBreaker(name: name, breaker: breaker)
    }
}
