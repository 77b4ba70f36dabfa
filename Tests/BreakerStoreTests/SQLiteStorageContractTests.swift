import BreakerCore
import BreakerStorageContract
import BreakerStore
import Testing

/// The shared `BreakerStorageContract`, against SQLite's `BreakerDatabase`.
@Suite struct SQLiteStorageContractTests {
    @Test(arguments: BreakerStorageContract.all)
    func contract(_ check: BreakerStorageContract) throws {
        try check.run(against: .sqlite)
    }
}

extension StorageUnderTest {
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
