import BreakerCore

/// The `breakers` table in SQLite: the upsert and the load of `StoredBreakerRow.columns`, so
/// they cannot drift. Unsigned values are stored by bit pattern (see `StoredBreakerRow`).
enum BreakerRow {
    static let columns = StoredBreakerRow.columns.map(\.name)

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

    /// Decodes the current row of `selectAllSQL` (`StoredBreakerRow.decode`): a value `bind`
    /// could not have written is `.corrupt`, naming the breaker.
    static func read(_ row: SQLiteStatement, path: String) throws(StoreError) -> StoredBreaker {
        try StoredBreakerRow.decode(SQLiteBreakerCells(statement: row), location: path, as: StoreError.self)
    }
}
