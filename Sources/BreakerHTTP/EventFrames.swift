/// The Server-Sent Events frames of `/events`. Every `data:` is one line of JSON:
///
/// - `event: transition` — the protocol's `watch` event, as it happens:
///   `{"event":"transition","breaker":"…","from":"closed","to":"open","generation":2,"at":"…","reason":"…"}`
/// - `event: summary` — once a second, the breakers whose counts or state changed since the
///   last one, most active first, in `BreakerTiles`' compact form:
///   `{"interval_ms":1000,"breakers":[…],"changed":3,"count":100000}` (`omitted`: changed
///   breakers beyond the cap, left out).
/// - `event: resync` — events were dropped because the reader fell behind: fetch the list again.
/// - `: keep-alive` comments every 15 s, so proxies keep an idle stream open.
enum EventFrames {
    /// Sent first: how long a browser waits before reconnecting, and a comment that opens the stream.
    static let opening = Array("retry: 2000\n: breakerd events\n\n".utf8)
    static let heartbeat = Array(": keep-alive\n\n".utf8)

    /// A protocol event line (ending in `\n`) as an SSE frame.
    static func transition(_ line: [UInt8]) -> [UInt8] {
        frame("transition", line.last == UInt8(ascii: "\n") ? line.dropLast() : line[...])
    }

    static func summary(_ json: [UInt8]) -> [UInt8] {
        frame("summary", json.last == UInt8(ascii: "\n") ? json.dropLast() : json[...])
    }

    static func resync(dropped: Int) -> [UInt8] {
        frame("resync", Array("{\"dropped\":\(dropped)}".utf8)[...])
    }

    private static func frame(_ event: String, _ data: ArraySlice<UInt8>) -> [UInt8] {
        var out = Array("event: \(event)\ndata: ".utf8)
        out.reserveCapacity(out.count + data.count + 2)
        out += data
        out += [UInt8(ascii: "\n"), UInt8(ascii: "\n")]
        return out
    }
}
