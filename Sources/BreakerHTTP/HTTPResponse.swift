import BreakerWire
import NIOHTTP1

/// A complete response: the endpoints build these, `HTTPHandler` writes them.
public struct HTTPResponse: Sendable {
    public var status: HTTPResponseStatus
    public var contentType: String
    public var body: [UInt8]
    public var extraHeaders: [(String, String)] = []

    public init(status: HTTPResponseStatus, contentType: String, body: [UInt8], extraHeaders: [(String, String)] = []) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.extraHeaders = extraHeaders
    }

    static let jsonType = "application/json"
    static let textType = "text/plain; charset=utf-8"
    /// The Prometheus text exposition format, version 0.0.4.
    static let prometheusType = "text/plain; version=0.0.4; charset=utf-8"

    static func json(_ status: HTTPResponseStatus, _ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, contentType: jsonType, body: body)
    }

    /// A one-field JSON error body, `{"error":"…"}`, for 404/405/503 and friends.
    static func error(_ status: HTTPResponseStatus, _ message: String, extraHeaders: [(String, String)] = []) -> HTTPResponse {
        var w = JSONWriter(capacity: 64)
        w.beginObject()
        w.field("error", message)
        w.endObject()
        let body = w.bytes + [UInt8(ascii: "\n")]
        return HTTPResponse(status: status, contentType: jsonType, body: body, extraHeaders: extraHeaders)
    }
}
