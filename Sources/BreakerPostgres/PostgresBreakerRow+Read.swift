import BreakerCore
import BreakerStore
import PostgresNIO

extension PostgresBreakerRow {
    /// One row's cells as raw bytes, checked against `selectedColumns` (binary format, the column's
    /// type) and read straight from the bytes postgres-nio received, without
    /// `PostgresCell.decode` (a million rows go through here at takeover). Reused from row to
    /// row, so reading a row allocates nothing but the breaker.
    struct Cells {
        private var bytes: [ByteBuffer?] = []

        init() { bytes.reserveCapacity(selectedColumns.count) }

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

        /// nil for NULL; `.some(nil)` for bytes that are not 8 long.
        func integer(_ column: Int) -> Int64?? {
            bytes[column].map(\.binaryInt8)
        }

        func double(_ column: Int) -> Double?? {
            guard let bits = integer(column) else { return nil }
            return bits.map { Double(bitPattern: UInt64(bitPattern: $0)) }
        }

        func text(_ column: Int) -> String? {
            bytes[column]?.binaryText
        }

        func withTextBytes<R>(_ column: Int, _ body: (UnsafeBufferPointer<UInt8>?) -> R) -> R {
            guard let buffer = bytes[column] else { return body(nil) }
            return buffer.withUnsafeReadableBytes { body($0.assumingMemoryBound(to: UInt8.self)) }
        }
    }

    /// Decodes one row of `selectChangesSQL` (through `cells`' storage): the breaker and its
    /// change number.
    /// Anything `values` could not have written (wrong type, unknown state, configuration out of
    /// range) is `.corrupt`, naming the breaker: restoring a guess would silently change how a
    /// dependency is protected. `location` is only evaluated for an error.
    static func read(_ row: PostgresRow, into cells: inout Cells,
                     location: @autoclosure () -> String) throws(PostgresStoreError) -> (breaker: StoredBreaker, change: Int64) {
        guard cells.load(row), let name = cells.text(0) else {
            throw PostgresStoreError(code: .corrupt, message: "database \(location()): a breaker row has no name")
        }
        func corrupt(_ what: String) -> PostgresStoreError {
            PostgresStoreError(code: .corrupt, message: "database \(location()): breaker \"\(name)\" has \(what)")
        }
        func optionalInteger(_ column: Int) throws(PostgresStoreError) -> Int64? {
            guard let value = cells.integer(column) else { return nil }
            guard let value else { throw corrupt("a non-integer \(selectedColumns[column].name)") }
            return value
        }
        func integer(_ column: Int) throws(PostgresStoreError) -> Int64 {
            guard let value = try optionalInteger(column) else { throw corrupt("a NULL \(selectedColumns[column].name)") }
            return value
        }
        func count(_ column: Int) throws(PostgresStoreError) -> Int {
            let value = try integer(column)
            guard value >= 0 else { throw corrupt("a negative \(selectedColumns[column].name)") }
            return Int(value)
        }
        func text(_ column: Int) -> String? { cells.text(column) }

        let policyText = text(21) ?? ""
        guard let policy = TripPolicy(rawValue: policyText) else { throw corrupt("an unknown policy \"\(policyText)\"") }
        let window: WindowSpec
        switch text(22) {
        case "count": window = .count(size: try count(23))
        case "time": window = .time(seconds: try count(23))
        case let other: throw corrupt("an unknown window kind \"\(other ?? "NULL")\"")
        }
        let modeText = text(31) ?? ""
        guard let mode = BreakerMode(rawValue: modeText) else { throw corrupt("an unknown mode \"\(modeText)\"") }
        var backoff: TimeoutBackoff?
        var multiplier: Double?
        if let value = cells.double(28) {
            guard let value else { throw corrupt("a non-numeric backoff_multiplier") }
            multiplier = value
        }
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
            let from = text(33), reason = text(34)
            if from == nil && reason == nil { return nil }
            guard let fromState = BreakerState(wireName: from ?? "") else {
                throw corrupt("an unknown last_from \"\(from ?? "NULL")\"")
            }
            guard let why = TransitionReason(rawValue: reason ?? "") else {
                throw corrupt("an unknown last_reason \"\(reason ?? "NULL")\"")
            }
            return LastTransition(from: fromState, reason: why)
        }

        let stateText = text(6) ?? ""
        guard let state = BreakerState(wireName: stateText) else { throw corrupt("an unknown state \"\(stateText)\"") }
        guard let transitions = cells.withTextBytes(15, { $0.flatMap(TransitionCounts.decode) }) else {
            throw corrupt("unreadable transition counts \"\(text(15) ?? "NULL")\"")
        }
        let metrics = BreakerMetrics(
            totalCalls: UInt64(bitPattern: try integer(11)), successfulCalls: UInt64(bitPattern: try integer(12)),
            failedCalls: UInt64(bitPattern: try integer(13)), rejectedCalls: UInt64(bitPattern: try integer(14)),
            transitions: transitions,
            lastFailureTime: try optionalInteger(16).map(Timestamp.init(millisecondsSinceEpoch:)),
            lastStateChange: Timestamp(millisecondsSinceEpoch: try integer(17)))
        var forced: ForcedOpen?
        if let forcedAt = try optionalInteger(20) {
            forced = ForcedOpen(reason: text(18), actor: text(19), at: Timestamp(millisecondsSinceEpoch: forcedAt))
        }
        let breaker = CircuitBreaker(
            config: config, state: state, generation: UInt64(bitPattern: try integer(7)),
            failureCount: try count(8), successCount: try count(9),
            openUntil: try optionalInteger(10).map(Timestamp.init(millisecondsSinceEpoch:)),
            metrics: metrics, forced: forced, reopenCount: try count(32), lastTransition: try lastTransition())
        return (StoredBreaker(name: name, breaker: breaker), try integer(35))
    }
}
