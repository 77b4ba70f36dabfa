import BreakerCore
import BreakerStorageContract
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
