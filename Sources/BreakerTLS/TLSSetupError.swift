#if canImport(Glibc)
import Glibc
#endif

/// TLS settings that cannot be used: a missing or unreadable file, a file that holds no PEM,
/// a key that does not belong to the certificate. The message names the file, because the
/// errors BoringSSL gives do not.
public struct TLSSetupError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    /// Runs `load`, turning its error into one that says what was being read from where.
    static func loading<T>(_ what: String, _ path: String, _ load: () throws -> T) throws(TLSSetupError) -> T {
        guard access(path, R_OK) == 0 else {
            throw TLSSetupError("cannot read the \(what) file \(path): \(String(cString: strerror(errno)))")
        }
        return try wrapping("cannot load the \(what) from \(path) (expected PEM)", load)
    }

    static func wrapping<T>(_ context: String, _ body: () throws -> T) throws(TLSSetupError) -> T {
        do {
            return try body()
        } catch {
            throw TLSSetupError("\(context): \(error)")
        }
    }
}
