import BreakerCore
import BreakerStore
import PostgresNIO

extension PostgresBreakerRow {
    /// Decodes one row of `selectFirstPageSQL` or `selectNextPageSQL`. Anything `values` could not have written (wrong type,
    /// unknown state, configuration out of range) is `.corrupt`, naming the breaker: restoring a
    /// guess would silently change how a dependency is protected.
    static func read(_ row: PostgresRow, location: String) throws(PostgresStoreError) -> StoredBreaker {
        let cells = Array(row)
        guard cells.count == columns.count, let name = try? cells[0].decode(String.self) else {
            throw PostgresStoreError(code: .corrupt, message: "database \(location): a breaker row has no name")
        }
        func corrupt(_ what: String) -> PostgresStoreError {
            PostgresStoreError(code: .corrupt, message: "database \(location): breaker \"\(name)\" has \(what)")
        }
        func optionalInteger(_ column: Int) throws(PostgresStoreError) -> Int64? {
            do { return try cells[column].decode(Int64?.self) } catch { throw corrupt("a non-integer \(columns[column].name)") }
        }
        func integer(_ column: Int) throws(PostgresStoreError) -> Int64 {
            guard let value = try optionalInteger(column) else { throw corrupt("a NULL \(columns[column].name)") }
            return value
        }
        func count(_ column: Int) throws(PostgresStoreError) -> Int {
            let value = try integer(column)
            guard value >= 0 else { throw corrupt("a negative \(columns[column].name)") }
            return Int(value)
        }
        func text(_ column: Int) throws(PostgresStoreError) -> String? {
            do { return try cells[column].decode(String?.self) } catch { throw corrupt("a non-text \(columns[column].name)") }
        }

        let policyText = try text(21) ?? ""
        guard let policy = TripPolicy(rawValue: policyText) else { throw corrupt("an unknown policy \"\(policyText)\"") }
        let window: WindowSpec
        switch try text(22) {
        case "count": window = .count(size: try count(23))
        case "time": window = .time(seconds: try count(23))
        case let other: throw corrupt("an unknown window kind \"\(other ?? "NULL")\"")
        }
        let modeText = try text(31) ?? ""
        guard let mode = BreakerMode(rawValue: modeText) else { throw corrupt("an unknown mode \"\(modeText)\"") }
        var backoff: TimeoutBackoff?
        let multiplier: Double?
        do { multiplier = try cells[28].decode(Double?.self) } catch { throw corrupt("a non-numeric backoff_multiplier") }
        let backoffMaxMs = try optionalInteger(29)
        if multiplier != nil || backoffMaxMs != nil {
            guard let multiplier else { throw corrupt("a backoff_max_ms without backoff_multiplier") }
            backoff = TimeoutBackoff(multiplier: multiplier, maxMs: try integer(29))
        }
        let config = BreakerConfig(
            failureThreshold: try count(1), successThreshold: try count(2), timeoutMs: try integer(3),
            halfOpenMaxCalls: try count(4), halfOpenPermitTimeoutMs: try integer(5),
            policy: policy, window: window, failureRateThreshold: try count(24), minimumCalls: try count(25),
            slowCallDurationMs: try optionalInteger(26), slowCallRateThreshold: try count(27), timeoutBackoff: backoff,
            minReporters: try optionalInteger(30).map { Int(clamping: $0) }, mode: mode)
        do { try config.validate() } catch { throw corrupt("an invalid configuration (\(error.message))") }

        func lastTransition() throws(PostgresStoreError) -> LastTransition? {
            let from = try text(33), reason = try text(34)
            if from == nil && reason == nil { return nil }
            guard let fromState = BreakerState(wireName: from ?? "") else { throw corrupt("an unknown last_from \"\(from ?? "NULL")\"") }
            guard let why = TransitionReason(rawValue: reason ?? "") else { throw corrupt("an unknown last_reason \"\(reason ?? "NULL")\"") }
            return LastTransition(from: fromState, reason: why)
        }

        let stateText = try text(6) ?? ""
        guard let state = BreakerState(wireName: stateText) else { throw corrupt("an unknown state \"\(stateText)\"") }
        let countsText = try text(15)
        guard let transitions = countsText.flatMap(PostgresTransitionCounts.decode) else {
            throw corrupt("unreadable transition counts \"\(countsText ?? "NULL")\"")
        }
        let metrics = BreakerMetrics(
            totalCalls: UInt64(bitPattern: try integer(11)), successfulCalls: UInt64(bitPattern: try integer(12)),
            failedCalls: UInt64(bitPattern: try integer(13)), rejectedCalls: UInt64(bitPattern: try integer(14)),
            transitions: transitions,
            lastFailureTime: try optionalInteger(16).map(Timestamp.init(millisecondsSinceEpoch:)),
            lastStateChange: Timestamp(millisecondsSinceEpoch: try integer(17)))
        var forced: ForcedOpen?
        if let forcedAt = try optionalInteger(20) {
            forced = ForcedOpen(reason: try text(18), actor: try text(19), at: Timestamp(millisecondsSinceEpoch: forcedAt))
        }
        let breaker = CircuitBreaker(
            config: config, state: state, generation: UInt64(bitPattern: try integer(7)),
            failureCount: try count(8), successCount: try count(9),
            openUntil: try optionalInteger(10).map(Timestamp.init(millisecondsSinceEpoch:)),
            metrics: metrics, forced: forced, reopenCount: try count(32), lastTransition: try lastTransition())
        return StoredBreaker(name: name, breaker: breaker)
    }
}

/// The `transitions` column: `closed_to_open=3,open_to_half_open=2`, in `TransitionKind` order
/// (the same text SQLite's store writes, so a copy between them is a plain string copy).
enum PostgresTransitionCounts {
    static func encode(_ counts: [TransitionKind: UInt64]) -> String {
        counts.sorted { $0.key < $1.key }.map { "\($0.key.key)=\($0.value)" }.joined(separator: ",")
    }

    private static let kinds: [String: TransitionKind] = Dictionary(uniqueKeysWithValues:
        BreakerState.allCases.flatMap { from in
            BreakerState.allCases.map { to in (TransitionKind(from: from, to: to).key, TransitionKind(from: from, to: to)) }
        })

    /// nil for anything `encode` could not have produced: unknown key, missing or non-decimal
    /// count, overflow, a key twice, stray separators.
    static func decode(_ text: String) -> [TransitionKind: UInt64]? {
        var counts: [TransitionKind: UInt64] = [:]
        guard !text.isEmpty else { return counts }
        for pair in text.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = pair.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2, let kind = kinds[String(parts[0])], parts[1].allSatisfy(\.isASCII),
                  parts[1].first?.isNumber == true, let value = UInt64(parts[1]),
                  counts.updateValue(value, forKey: kind) == nil else { return nil }
        }
        return counts
    }
}
