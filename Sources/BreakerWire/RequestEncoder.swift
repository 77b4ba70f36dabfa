import BreakerCore

/// Writes requests as protocol v1 lines: the inverse of `RequestDecoder`, shared by every
/// client (BreakerClient, breakerctl) so none of them spells the protocol on its own.
public enum RequestEncoder {
    /// One `\n`-terminated line.
    public static func encode(_ request: Request) -> [UInt8] {
        var w = JSONWriter(capacity: 112)
        w.beginObject()
        w.field("op", request.command.op.rawValue)
        if let id = request.id { w.key("id"); w.value(id) }
        switch request.command {
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
        case .recordBatch(let entries):
            w.key("records")
            w.beginArray()
            for case .record(let record) in entries {
                w.beginObject()
                w.field("op", record.outcome == .success ? Op.recordSuccess.rawValue : Op.recordFailure.rawValue)
                writeRecordFields(record, to: &w)
                w.endObject()
            }
            w.endArray()
        case .returnPermit(let breaker, let permit):
            w.field("breaker", breaker)
            w.field("permit", permit)
        case .record(let record):
            writeRecordFields(record, to: &w)
        case .list(let prefix):
            if let prefix { w.field("prefix", prefix) }
        case .watch(let prefix, let heartbeatMs):
            if let prefix { w.field("prefix", prefix) }
            if let heartbeatMs { w.field("heartbeat_ms", heartbeatMs) }
        case .configure(let breaker, let patch):
            w.field("breaker", breaker)
            w.key("config")
            w.value(.object(JSONObject(patch.wireFields)))
        }
        w.endObject()
        return w.bytes + [UInt8(ascii: "\n")]
    }

    /// A record's fields after its `op` (and `id`).
    static func writeRecordFields(_ record: RecordCommand, to w: inout JSONWriter) {
        w.field("breaker", record.breaker)
        if record.count != 1 { w.field("count", record.count) }
        if let duration = record.durationMs { w.field("duration_ms", duration) }
        if let permit = record.permit { w.field("permit", permit) }
        if let generation = record.generation { w.key("generation"); w.int(Int64(clamping: generation)) }
        if let dedupe = record.dedupe { w.field("dedupe", dedupe) }
    }

    /// The line without its terminator, for clients that send text.
    public static func line(_ command: Command) -> String {
        String(decoding: encode(Request(command: command)).dropLast(), as: UTF8.self)
    }
}

extension Command {
    /// The kind of reply this command is answered with.
    public var replyKind: ReplyKind { op.replyKind }
}
