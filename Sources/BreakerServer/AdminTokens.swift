#if canImport(Glibc)
import Glibc
#endif

/// The admin tokens of `--admin-token-file`: lines `name:token`; blank lines and lines starting
/// with `#` are ignored. Tokens are never logged or echoed; only names are.
public struct AdminTokens: Sendable {
    public struct LoadError: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    private let entries: [(name: String, token: [UInt8])]

    public var names: [String] { entries.map(\.name) }

    public init(fileContents: String, path: String = "token file") throws(LoadError) {
        var entries: [(String, [UInt8])] = []
        // Bytes, not Characters: "\r\n" is one Character and would hide the line break.
        for (number, raw) in fileContents.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            var line = raw[...]
            while let last = line.last, last == UInt8(ascii: "\r") || last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") {
                line = line.dropLast()
            }
            guard !line.isEmpty, line.first != UInt8(ascii: "#") else { continue }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                throw LoadError(description: "\(path):\(number + 1): expected name:token")
            }
            let nameBytes = line[..<colon], token = Array(line[line.index(after: colon)...])
            guard !nameBytes.isEmpty, nameBytes.count <= 64, nameBytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw LoadError(description: "\(path):\(number + 1): a token name is 1-64 printable ASCII characters")
            }
            let name = String(decoding: nameBytes, as: UTF8.self)
            guard token.count >= 16 else {
                throw LoadError(description: "\(path):\(number + 1): the token for '\(name)' is shorter than 16 bytes")
            }
            guard !entries.contains(where: { $0.0 == name }) else {
                throw LoadError(description: "\(path):\(number + 1): '\(name)' appears twice")
            }
            entries.append((name, token))
        }
        guard !entries.isEmpty else { throw LoadError(description: "\(path): no name:token lines") }
        self.entries = entries
    }

    /// Reads the file; refuses one that others may read, since it holds secrets.
    public static func load(path: String) throws(LoadError) -> AdminTokens {
        var info = stat()
        guard stat(path, &info) == 0 else { throw LoadError(description: "cannot read admin token file \(path)") }
        guard info.st_mode & 0o077 == 0 else {
            throw LoadError(description: "admin token file \(path) is readable by others; chmod 600 it")
        }
        guard let file = fopen(path, "r") else { throw LoadError(description: "cannot open admin token file \(path)") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n == 0 { break }
            bytes += chunk[..<n]
            guard bytes.count < 1 << 20 else { throw LoadError(description: "admin token file \(path) is over 1 MiB") }
        }
        return try AdminTokens(fileContents: String(decoding: bytes, as: UTF8.self), path: path)
    }

    /// The name whose token equals `token`, comparing every token in full in constant time so
    /// that neither a match nor its position can be learned from timing.
    public func authenticate(_ token: String) -> String? {
        let given = Array(token.utf8)
        var match: String?
        for entry in entries {
            var difference = UInt8(truncatingIfNeeded: entry.token.count ^ given.count)
            for i in 0..<entry.token.count {
                difference |= entry.token[i] ^ (i < given.count ? given[i] : 0)
            }
            if difference == 0 { match = entry.name }
        }
        return match
    }
}
