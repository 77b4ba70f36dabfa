import Foundation

/// One `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|require|verify-full]`.
/// The password may come from a file instead (`--postgres-password-file`), never from both.
public struct PostgresURL: Sendable, Hashable, CustomStringConvertible {
    public enum SSLMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS, without checking the server's certificate (libpq's meaning of `require`).
        case require
        /// TLS, the certificate checked against the system's roots and the host name.
        case verifyFull = "verify-full"
    }

    public var user: String
    public var password: String?
    public var host: String
    public var port: Int
    public var database: String
    public var sslMode: SSLMode

    public init(user: String, password: String? = nil, host: String, port: Int = 5432, database: String,
                sslMode: SSLMode = .disable) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.database = database
        self.sslMode = sslMode
    }

    /// `HOST:PORT`, as errors name a server.
    public var server: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The URL without its password, for logs and `BreakerStorage.location`.
    public var description: String {
        "postgres://\(user)@\(server)/\(database)" + (sslMode == .disable ? "" : "?sslmode=\(sslMode.rawValue)")
    }

    /// Parses one URL; `passwordFile` (whose first line is the password) fills in a password the
    /// URL does not carry.
    public static func parse(_ text: String, passwordFile: String? = nil) throws(PostgresStoreError) -> PostgresURL {
        func bad(_ why: String) -> PostgresStoreError {
            PostgresStoreError(code: .badURL, message: "invalid PostgreSQL URL \"\(redacted(text))\": \(why)")
        }
        guard let components = URLComponents(string: text) else { throw bad("not a URL") }
        guard let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme.lowercased()) else {
            throw bad("the scheme must be postgres:// or postgresql://")
        }
        guard let host = components.host, !host.isEmpty else { throw bad("no host") }
        guard let user = components.user, !user.isEmpty else { throw bad("no user (postgres://USER@HOST/DATABASE)") }
        let port = components.port ?? 5432
        guard (1...65_535).contains(port) else { throw bad("port \(port) is out of range") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else { throw bad("no database name (postgres://USER@HOST/DATABASE)") }
        var sslMode = SSLMode.disable
        for item in components.queryItems ?? [] {
            guard item.name == "sslmode" else { throw bad("unknown parameter \"\(item.name)\" (only sslmode is supported)") }
            guard let mode = item.value.flatMap(SSLMode.init(rawValue:)) else {
                throw bad("unknown sslmode \"\(item.value ?? "")\" (use disable, require or verify-full)")
            }
            sslMode = mode
        }
        var password = components.password
        if let passwordFile {
            guard password == nil else { throw bad("a password is given both in the URL and in a password file") }
            password = try readPassword(passwordFile)
        }
        return PostgresURL(user: user, password: password, host: host, port: port, database: database, sslMode: sslMode)
    }

    /// Several URLs separated by commas, the form `--postgres-url` takes, tried in that order.
    public static func parseList(_ text: String, passwordFile: String? = nil) throws(PostgresStoreError) -> [PostgresURL] {
        var urls: [PostgresURL] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            urls.append(try parse(part.trimmingCharacters(in: .whitespaces), passwordFile: passwordFile))
        }
        return urls
    }

    private static func readPassword(_ path: String) throws(PostgresStoreError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw PostgresStoreError(code: .badURL, message: "cannot read the PostgreSQL password file \(path)")
        }
        let firstLine = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).first
        guard let password = firstLine.map(String.init), !password.isEmpty else {
            throw PostgresStoreError(code: .badURL, message: "the PostgreSQL password file \(path) is empty")
        }
        return password
    }

    /// The text with any password between `USER:` and `@` replaced, so errors never print it.
    public static func redacted(_ text: String) -> String {
        guard let schemeEnd = text.range(of: "://"), let at = text.range(of: "@", range: schemeEnd.upperBound..<text.endIndex),
              let colon = text.range(of: ":", range: schemeEnd.upperBound..<at.lowerBound) else { return text }
        return text.replacingCharacters(in: colon.upperBound..<at.lowerBound, with: "***")
    }
}
