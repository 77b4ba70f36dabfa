import BreakerCore
import BreakerStore
import CSQLite
import Foundation
import Logging

/// A fresh folder per test, removed by the test's `defer`.
struct TempFolder {
    let path: String

    init() throws {
        let base = NSTemporaryDirectory().hasSuffix("/") ? NSTemporaryDirectory() : NSTemporaryDirectory() + "/"
        var template = Array("\(base)breakerstore-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: created)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

let quietLogger = Logger(label: "breakerstore-tests") { _ in SwiftLogNoOpLogHandler() }

func openDatabase(_ path: String, transitionLogLimit: Int = 1000) throws(StoreError) -> BreakerDatabase {
    try BreakerDatabase(path: path, transitionLogLimit: transitionLogLimit, logger: quietLogger)
}

func at(_ milliseconds: Int64) -> Timestamp {
    Timestamp(millisecondsSinceEpoch: 1_750_000_000_000 + milliseconds)
}

func transition(_ from: BreakerState, _ to: BreakerState, generation: UInt64, at time: Int64,
                reason: TransitionReason) -> Transition {
    Transition(from: from, to: to, generation: generation, at: at(time), reason: reason)
}

/// One breaker in each state, with every optional field both set and unset somewhere, counters
/// at their extremes, and names that would break any SQL built by interpolation.
func breakersInEveryState() -> [StoredBreaker] {
    let closed = CircuitBreaker(
        config: BreakerConfig(failureThreshold: 3, successThreshold: 1, timeoutMs: 5_000,
                              halfOpenMaxCalls: 2, halfOpenPermitTimeoutMs: 1_000),
        state: .closed, generation: 7, failureCount: 2, successCount: 0, openUntil: nil,
        metrics: BreakerMetrics(totalCalls: 10, successfulCalls: 8, failedCalls: 2, rejectedCalls: 0,
                                transitions: [:], lastFailureTime: nil, lastStateChange: at(0)))
    let open = CircuitBreaker(
        config: .default, state: .open, generation: 12, failureCount: 5, successCount: 0,
        openUntil: at(61_000),
        metrics: BreakerMetrics(
            totalCalls: 40, successfulCalls: 30, failedCalls: 10, rejectedCalls: 17,
            transitions: [
                TransitionKind(from: .closed, to: .open): 3, TransitionKind(from: .open, to: .halfOpen): 2,
                TransitionKind(from: .halfOpen, to: .open): 1, TransitionKind(from: .halfOpen, to: .closed): 1,
                TransitionKind(from: .open, to: .closed): 0,
            ],
            lastFailureTime: at(1_000), lastStateChange: at(1_000)))
    let halfOpen = CircuitBreaker(
        config: BreakerConfig(failureThreshold: 1_000_000, successThreshold: 1_000_000, timeoutMs: 2_592_000_000,
                              halfOpenMaxCalls: 10_000, halfOpenPermitTimeoutMs: 86_400_000),
        state: .halfOpen, generation: .max, failureCount: 0, successCount: 999_999, openUntil: nil,
        metrics: BreakerMetrics(totalCalls: .max, successfulCalls: .max - 1, failedCalls: 1, rejectedCalls: .max,
                                transitions: [TransitionKind(from: .open, to: .halfOpen): .max],
                                lastFailureTime: at(-5), lastStateChange: at(2_000)))
    var live = CircuitBreaker(createdAt: at(0))
    for step in 1...5 { _ = live.record(.failure, at: at(Int64(step))) }
    return [
        StoredBreaker(name: "payments-api", breaker: closed),
        StoredBreaker(name: "o'brien\"; DROP TABLE breakers; --", breaker: open),
        StoredBreaker(name: "paiements-été ⚡️", breaker: halfOpen),
        StoredBreaker(name: "tripped-by-records", breaker: live),
    ].sorted { $0.name < $1.name }
}

/// Direct libsqlite3 access for setting up files the way another program (or an older or newer
/// breakerd) would have left them. Only used on files no `BreakerDatabase` has open.
enum RawSQLite {
    /// A connection kept open across steps, for files that must be captured mid-flight.
    final class Connection {
        private var db: OpaquePointer?

        init(_ path: String) {
            precondition(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nil) == SQLITE_OK)
        }

        func execute(_ sql: String) {
            var message: UnsafeMutablePointer<CChar>?
            let rc = sqlite3_exec(db, sql, nil, nil, &message)
            precondition(rc == SQLITE_OK, "\(sql): \(message.map { String(cString: $0) } ?? "?")")
        }

        func close() {
            sqlite3_close_v2(db)
            db = nil
        }
    }

    static func execute(_ path: String, _ sql: String) {
        let connection = Connection(path)
        connection.execute(sql)
        connection.close()
    }

    /// Every value of the first column of `sql`, as text.
    static func column(_ path: String, _ sql: String) -> [String] {
        var db: OpaquePointer?
        precondition(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, nil) == SQLITE_OK)
        defer { sqlite3_close_v2(db) }
        var statement: OpaquePointer?
        precondition(sqlite3_prepare_v2(db, sql, -1, &statement, nil) == SQLITE_OK)
        defer { sqlite3_finalize(statement) }
        var values: [String] = []
        while sqlite3_step(statement) == SQLITE_ROW {
            values.append(sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? "NULL")
        }
        return values
    }
}

func contents(_ path: String) -> Data? {
    FileManager.default.contents(atPath: path)
}

func permissions(_ path: String) -> mode_t {
    var info = stat()
    precondition(stat(path, &info) == 0)
    return info.st_mode & 0o777
}
