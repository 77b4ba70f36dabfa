import BreakerCore

/// Turns one line into a `Request`, or a `WireError` with the exact code the protocol names.
///
/// Unknown top-level fields are ignored (newer clients may send more); unknown fields inside
/// `config` are rejected, since a misspelt setting silently ignored is worse than an error.
public enum RequestDecoder {
    /// Decodes a line without its terminator. On failure the error carries the request's `id`
    /// when the line got far enough to have one.
    public static func decode(_ line: UnsafeRawBufferPointer) -> Result<Request, RequestError> {
        let value: JSONValue
        do {
            value = try JSONParser.parse(line)
        } catch {
            // Duplicate keys are well-formed JSON with an ambiguous meaning: a bad request.
            let code: ErrorCode = if case .duplicateKey = error.kind { .badRequest } else { .malformedJSON }
            return .failure(RequestError(id: nil, error: WireError(code, error.message)))
        }
        return decode(value)
    }

    public static func decode(_ line: String) -> Result<Request, RequestError> {
        var line = line
        return line.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }

    public static func decode(_ value: JSONValue) -> Result<Request, RequestError> {
        guard case .object(let object) = value else {
            return .failure(RequestError(id: nil, error: WireError(.badRequest, "a request must be a JSON object")))
        }
        var id: JSONValue?
        do {
            id = try requestID(object)
            return .success(Request(id: id, command: try command(try op(object), object)))
        } catch {
            return .failure(RequestError(id: id, op: namedOp(object), error: error))
        }
    }

    private static func requestID(_ object: JSONObject) throws(WireError) -> JSONValue? {
        switch object["id"] {
        case nil: return nil
        case .int, .string: return object["id"]
        case .double(let d) where d.isFinite: return object["id"]
        default: throw WireError(.badRequest, "field 'id' must be a number or a string")
        }
    }

    /// The known op a line names, if any, whatever else is wrong with it: its errors are
    /// counted under that op, not as `invalid`.
    private static func namedOp(_ o: JSONObject) -> Op? {
        guard case .string(let name)? = o["op"] else { return nil }
        return Op(rawValue: name)
    }

    private static func op(_ o: JSONObject) throws(WireError) -> Op {
        guard let opValue = o["op"] else { throw WireError(.badRequest, "missing field 'op'") }
        guard case .string(let name) = opValue else { throw WireError(.badRequest, "field 'op' must be a string") }
        guard let op = Op(rawValue: name) else { throw WireError(.unknownOp, "unknown op '\(String(name.prefix(64)))'") }
        return op
    }

    private static func command(_ op: Op, _ o: JSONObject) throws(WireError) -> Command {
        switch op {
        case .ping: return .ping
        case .shouldAttempt: return .shouldAttempt(breaker: try name(o))
        case .recordSuccess: return .record(try record(o, .success))
        case .recordFailure: return .record(try record(o, .failure))
        case .returnPermit: return .returnPermit(breaker: try name(o), permit: try permit(o)!)
        case .recordBatch: return .recordBatch(try batch(o))
        case .inspect: return .inspect(breaker: try name(o))
        case .list: return .list(prefix: try prefix(o))
        case .configure: return .configure(breaker: try name(o), patch: try patch(o))
        case .reset: return .reset(breaker: try name(o))
        case .watch:
            return .watch(prefix: try prefix(o), heartbeatMs: try integer(o, "heartbeat_ms", in: 100...60_000).map { Int($0) })
        case .auth: return .auth(token: try string(o, "token", maxBytes: 4096)!)
        case .forceOpen:
            return .forceOpen(breaker: try name(o), reason: try string(o, "reason", maxBytes: 1000, required: false))
        case .release: return .release(breaker: try name(o))
        case .history:
            return .history(breaker: try name(o), limit: Int(try integer(o, "limit", in: 1...1000) ?? 50))
        case .hello: return .hello(client: try client(o))
        }
    }

    /// `records`: 1–`BatchEntry.maxCount` objects, each exactly a record line's fields (with its
    /// `op`). The array's shape is checked here; each entry's own errors are its answer.
    private static func batch(_ o: JSONObject) throws(WireError) -> [BatchEntry] {
        guard let value = o["records"] else { throw WireError(.badRequest, "missing field 'records'") }
        guard case .array(let items) = value, (1...BatchEntry.maxCount).contains(items.count) else {
            throw WireError(.badRequest, "field 'records' must be an array of 1-\(BatchEntry.maxCount) records")
        }
        return items.map { item -> BatchEntry in
            guard case .object(let entry) = item else {
                return .invalid(WireError(.badRequest, "a record-batch entry must be an object"))
            }
            do throws(WireError) {
                switch try op(entry) {
                case .recordSuccess: return .record(try record(entry, .success))
                case .recordFailure: return .record(try record(entry, .failure))
                default: throw WireError(.badRequest, "a record-batch entry's op must be record-success or record-failure")
                }
            } catch {
                return .invalid(error)
            }
        }
    }

    /// A `permit` field: the non-empty string a decision returned (nil when absent and optional).
    private static func permit(_ o: JSONObject, required: Bool = true) throws(WireError) -> String? {
        guard let value = o["permit"] else {
            if required { throw WireError(.badRequest, "missing field 'permit'") }
            return nil
        }
        guard case .string(let text) = value, !text.isEmpty, text.utf8.count <= 128 else {
            throw WireError(.badRequest, "field 'permit' must be the non-empty string a decision returned")
        }
        return text
    }

    private static func name(_ o: JSONObject) throws(WireError) -> String {
        guard let value = o["breaker"] else { throw WireError(.badRequest, "missing field 'breaker'") }
        guard case .string(let name) = value else { throw WireError(.badRequest, "field 'breaker' must be a string") }
        try BreakerName.validate(name)
        return name
    }

    /// A client name: 1–64 bytes of the breaker-name alphabet, so it is safe in logs and replies.
    private static func client(_ o: JSONObject) throws(WireError) -> String {
        let client = try string(o, "client", maxBytes: 64)!
        guard !client.isEmpty, client.utf8.allSatisfy(BreakerName.isAllowed) else {
            throw WireError(.badRequest, "field 'client' must be 1-64 bytes of A-Z a-z 0-9 . _ : / -")
        }
        return client
    }

    private static func prefix(_ o: JSONObject) throws(WireError) -> String? {
        guard let value = o["prefix"] else { return nil }
        guard case .string(let prefix) = value else { throw WireError(.badRequest, "field 'prefix' must be a string") }
        try BreakerName.validatePrefix(prefix)
        return prefix
    }

    /// A string field; `nil` only when absent and not `required`.
    private static func string(_ o: JSONObject, _ key: String, maxBytes: Int, required: Bool = true) throws(WireError) -> String? {
        guard let value = o[key] else {
            if required { throw WireError(.badRequest, "missing field '\(key)'") }
            return nil
        }
        guard case .string(let text) = value else { throw WireError(.badRequest, "field '\(key)' must be a string") }
        guard text.utf8.count <= maxBytes else { throw WireError(.badRequest, "field '\(key)' is longer than \(maxBytes) bytes") }
        return text
    }

    private static func record(_ o: JSONObject, _ outcome: Outcome) throws(WireError) -> RecordCommand {
        let breaker = try name(o)
        let count = try integer(o, "count", in: 1...Int64(RecordCommand.maxCount)) ?? 1
        let generation = try integer(o, "generation", in: 0...Int64.max)
        let durationMs = try integer(o, "duration_ms", in: 0...RecordCommand.maxDurationMs)
        let permit = try permit(o, required: false)
        if permit != nil, count != 1 {
            throw WireError(.badRequest, "a record with a permit reports one trial: count must be 1")
        }
        var dedupe: String?
        if let value = o["dedupe"] {
            guard case .string(let key) = value, (1...RecordCommand.maxDedupeLength).contains(key.utf8.count),
                  key.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
                throw WireError(.badRequest, "field 'dedupe' must be 1-\(RecordCommand.maxDedupeLength) bytes of printable ASCII without spaces")
            }
            dedupe = key
        }
        return RecordCommand(breaker: breaker, outcome: outcome, count: Int(count),
                             permit: permit, generation: generation.map { UInt64($0) }, durationMs: durationMs,
                             dedupe: dedupe)
    }

    private static let configFields: Set<String> = [
        "failure_threshold", "success_threshold", "timeout_ms", "half_open_max_calls", "half_open_permit_timeout_ms",
        "policy", "window", "failure_rate_threshold", "minimum_calls", "slow_call_duration_ms", "slow_call_rate_threshold",
        "timeout_backoff", "min_reporters", "mode",
    ]

    private static func patch(_ o: JSONObject) throws(WireError) -> BreakerConfigPatch {
        guard let value = o["config"] else { throw WireError(.badRequest, "missing field 'config'") }
        guard case .object(let c) = value else { throw WireError(.badRequest, "field 'config' must be an object") }
        for (key, _) in c.fields where !configFields.contains(key) {
            throw WireError(.badRequest, "unknown config field '\(String(key.prefix(64)))'")
        }
        let b = BreakerConfig.Limits.self
        func int(_ key: String, _ range: ClosedRange<Int>) throws(WireError) -> Int? {
            try integer(c, key, in: Int64(range.lowerBound)...Int64(range.upperBound)).map { Int($0) }
        }
        var patch = BreakerConfigPatch(
            failureThreshold: try int("failure_threshold", b.threshold),
            successThreshold: try int("success_threshold", b.threshold),
            timeoutMs: try integer(c, "timeout_ms", in: b.timeoutMs),
            halfOpenMaxCalls: try int("half_open_max_calls", b.halfOpenMaxCalls),
            halfOpenPermitTimeoutMs: try integer(c, "half_open_permit_timeout_ms", in: b.permitTimeoutMs)
        )
        try PolicyFields.decode(c, into: &patch)
        return patch
    }

    /// An optional integer field within `range`; a fraction, a string or a huge number is `bad_request`.
    static func integer(_ o: JSONObject, _ key: String, in range: ClosedRange<Int64>) throws(WireError) -> Int64? {
        guard let value = o[key] else { return nil }
        guard case .int(let n) = value else {
            throw WireError(.badRequest, "field '\(key)' must be an integer")
        }
        guard range.contains(n) else {
            throw WireError(.badRequest, "field '\(key)' must be between \(range.lowerBound) and \(range.upperBound), got \(n)")
        }
        return n
    }
}

/// A request that could not be decoded, with its `id` when it had a readable one.
public struct RequestError: Error, Sendable, Equatable {
    public var id: JSONValue?
    /// The op the line named, when it named a known one.
    public var op: Op?
    public var error: WireError

    public init(id: JSONValue?, op: Op? = nil, error: WireError) {
        self.id = id
        self.op = op
        self.error = error
    }
}
