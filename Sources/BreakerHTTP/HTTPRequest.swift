import NIOHTTP1

/// A request as the status page's routes see it: the head, split into path and query, and a
/// body read whole but never beyond `maxBodyBytes`.
struct HTTPRequest: Sendable {
    /// Bodies past this are answered 413 and not kept: the admin actions need a few hundred bytes.
    static let maxBodyBytes = 4096

    var method: HTTPMethod
    var path: String
    var query: [String: String]
    var headers: HTTPHeaders
    var body: [UInt8]
    /// The body passed `maxBodyBytes`; `body` holds only its first bytes.
    var bodyTooLarge = false

    init(head: HTTPRequestHead, body: [UInt8] = [], bodyTooLarge: Bool = false) {
        method = head.method
        headers = head.headers
        self.body = body
        self.bodyTooLarge = bodyTooLarge
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts.first ?? "")
        var query: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard let key = kv.first.map(Self.percentDecoded), query[key] == nil else { continue }
                query[key] = kv.count > 1 ? Self.percentDecoded(kv[1]) : ""
            }
        }
        self.query = query
    }

    /// `%XX` and `+` decoded; a malformed escape is kept as it is (names then fail validation).
    static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "+") {
                bytes.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), utf8.count >= 2,
                      let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The token of `Authorization: Bearer <token>`, or nil. Never logged by anyone.
    var bearerToken: String? {
        guard let value = headers.first(name: "Authorization") else { return nil }
        let scheme = "bearer "
        guard value.count > scheme.count, value.prefix(scheme.count).lowercased() == scheme else { return nil }
        let token = value.dropFirst(scheme.count).drop { $0 == " " }
        return token.isEmpty ? nil : String(token)
    }
}
