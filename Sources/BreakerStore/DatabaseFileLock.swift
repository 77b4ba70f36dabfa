#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One breakerd's exclusive claim on its database file, held from open to close.
///
/// SQLite's own locks only serialise transactions; two daemons taking turns on one file would
/// each believe its in-memory breakers are the truth and overwrite the other's. `flock` on the
/// database file itself makes the second daemon fail at start-up instead. On Linux, `flock`
/// locks and SQLite's POSIX `fcntl` locks are independent, so this does not disturb SQLite.
///
/// Caveat of POSIX locks: closing *any* descriptor of a file drops *all* `fcntl` locks the
/// process holds on it. The descriptor is therefore closed only after SQLite has closed the
/// connection. The one exception is a second open of the same file in the same process (a bug
/// outside tests), whose failed attempt closes its descriptor while the first connection lives.
struct DatabaseFileLock {
    private let descriptor: Int32

    /// Creates the parent folder (0700) and the file (0600) when missing, so the database is
    /// private from its first byte; existing modes are left as the operator set them.
    static func acquire(path: String) throws(StoreError) -> DatabaseFileLock {
        try createParentDirectories(of: path)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw StoreError(code: .io, message: "cannot open database \(path): \(errorText(errno))")
        }
        // A process that embeds the store and starts a child (tests do, all the time) shares this
        // descriptor with the child from its fork until its exec closes it (O_CLOEXEC): a lock
        // refused for that instant is asked for again, for at most ~250 ms. Another breakerd
        // holds it for good and is still refused.
        var tries = 0
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            let error = errno
            if error == EWOULDBLOCK, tries < 25 {
                tries += 1
                usleep(10_000)
                continue
            }
            close(descriptor)
            if error == EWOULDBLOCK {
                throw StoreError(code: .locked, message: "database \(path) is in use by another breakerd process")
            }
            throw StoreError(code: .io, message: "cannot lock database \(path): \(errorText(error))")
        }
        return DatabaseFileLock(descriptor: descriptor)
    }

    /// Closing the descriptor releases the `flock`.
    func release() {
        close(descriptor)
    }

    private static func createParentDirectories(of path: String) throws(StoreError) {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return }
        let parent = String(path[..<slash])
        var prefix = parent.hasPrefix("/") ? "" : "."
        for component in parent.split(separator: "/") {
            prefix += "/" + component
            guard mkdir(prefix, 0o700) != 0 else { continue }
            let error = errno
            if error != EEXIST {
                throw StoreError(code: .io,
                                 message: "cannot create folder \(prefix) for database \(path): \(errorText(error))")
            }
        }
    }
}

func errorText(_ code: Int32) -> String {
    String(cString: strerror(code))
}
