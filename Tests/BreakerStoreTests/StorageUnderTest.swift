import BreakerCore
import BreakerStore
import Testing

/// One `BreakerStorage` implementation as the contract tests drive it: a fresh, empty store per
/// test; reopening it (as a restart would); making its writes fail for a real reason and
/// succeed again. Adding an implementation (PostgreSQL) is one more entry in `all`.
struct StorageUnderTest: Sendable, CustomTestStringConvertible {
    let name: String
    /// Makes a fresh store; returns it and a `Place` to reopen or remove it.
    let create: @Sendable (_ transitionLogLimit: Int) throws -> (any BreakerStorage, Place)
    /// Makes writes fail (for a batch with at least a 64 KiB note), as a full disk would.
    let failWrites: @Sendable (any BreakerStorage) throws -> Void
    let allowWrites: @Sendable (any BreakerStorage) throws -> Void

    struct Place: Sendable {
        let reopen: @Sendable (_ transitionLogLimit: Int) throws -> any BreakerStorage
        let remove: @Sendable () -> Void
    }

    var testDescription: String { name }

    static let all: [StorageUnderTest] = [sqlite]

    static let sqlite = StorageUnderTest(
        name: "SQLite",
        create: { limit in
            let folder = try TempFolder()
            let path = folder.file("breakerd.sqlite3")
            let place = Place(reopen: { try openDatabase(path, transitionLogLimit: $0) }, remove: { folder.remove() })
            return (try openDatabase(path, transitionLogLimit: limit), place)
        },
        // SQLite's page limit fails the allocation exactly like a full disk does.
        failWrites: { try ($0 as! BreakerDatabase).executeForTesting("PRAGMA max_page_count = 1") },
        allowWrites: { try ($0 as! BreakerDatabase).executeForTesting("PRAGMA max_page_count = 1073741823") })
}
