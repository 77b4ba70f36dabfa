import BreakerCore
import BreakerWire

/// Writes the client's requests as protocol v1 lines. Every request carries a numeric `id`
/// so the connection can check that each reply answers the request it is matched with.
enum RequestEncoding {
    static func encode(_ command: Command, id: Int64) -> [UInt8] {
        var w = JSONWriter(capacity: 112)
        w.beginObject()
        w.field("op", command.op)
        switch command {
        case .ping:
            break
        case .shouldAttempt(let breaker), .inspect(let breaker), .reset(let breaker), .release(let breaker):
            w.field("breaker", breaker)
        case .forceOpen(let breaker, let reason):
            w.field("breaker", breaker)
            if let reason { w.field("reason", reason) }
        case .history(let breaker, let limit):
            w.field("breaker", breaker)
            w.field("limit", limit)
        case .auth(let token):
            w.field("token", token)
        case .hello(let client):
            w.field("client", client)
        case .record(let record):
            w.field("breaker", record.breaker)
            if record.count != 1 { w.field("count", record.count) }
            if let duration = record.durationMs { w.field("duration_ms", duration) }
            if let permit = record.permit {
                w.field("permit", permit)
            } else if let generation = record.generation {
                w.key("generation"); w.int(Int64(clamping: generation))
            }
        case .list(let prefix), .watch(let prefix):
            if let prefix { w.field("prefix", prefix) }
        case .configure(let breaker, let patch):
            w.field("breaker", breaker)
            w.key("config")
            w.value(.object(JSONObject(patch.wireFields)))
        }
        w.field("id", id)
        w.endObject()
        var bytes = w.bytes
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// The reply kind each command is answered with.
    static func replyKind(_ command: Command) -> ReplyKind {
        switch command {
        case .ping: .pong
        case .shouldAttempt: .decision
        case .record: .recorded
        case .inspect, .configure, .reset, .forceOpen, .release: .breaker
        case .list: .list
        case .watch: .watching
        case .auth: .authenticated
        case .hello: .hello
        case .history: .history
        }
    }
}
