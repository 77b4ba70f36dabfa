import BreakerCore

/// The reply a client expects for a request it sent. Replies do not name their own kind (a
/// `watch` reply is just `{"ok":true}`), so the client, which knows what it asked, says what
/// to decode; replies come back in request order on a connection, so it always knows.
public enum ReplyKind: Sendable, Hashable {
    /// The answer to `ping`.
    case pong
    /// The answer to `should-attempt`.
    case decision
    /// The answer to `record-success` / `record-failure`.
    case recorded
    /// The answer to `inspect`, `configure` and `reset`.
    case breaker
    /// The answer to `list`.
    case list
    /// The answer to `watch`.
    case watching
    /// The answer to `auth`.
    case authenticated
    /// The answer to `history`.
    case history
    /// The answer to `record-batch`.
    case recordedBatch
    /// The answer to `hello`.
    case hello
}

/// One line from the daemon: a reply, an error reply, or a pushed event.
public enum DaemonMessage: Sendable, Hashable {
    /// `"ok":true`: the answer to the oldest outstanding request, with its echoed `id`.
    case reply(id: JSONValue?, Reply)
    /// `"ok":false`: that request changed nothing; `id` is nil when the daemon could not read it.
    case error(id: JSONValue?, WireError)
    /// A pushed transition on a watching connection.
    case event(Event)
    /// An event of a kind this client does not know (a newer daemon). Ignoring it keeps the
    /// connection usable, as unknown fields are ignored.
    case unknownEvent(String)
}

/// A line that is not what protocol v1 allows in that place: not JSON, a missing or
/// wrong-typed field, an impossible value. A client treats the connection as broken, since a
/// daemon that says such things cannot be trusted with the next reply either.
public struct ReplyDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What was wrong, with the field's path.
    public var message: String
    /// An error saying `message`.
    public init(_ message: String) { self.message = message }
    /// The message.
    public var description: String { message }
}

/// Decodes the daemon's lines for clients: typed replies, error replies and events, checked as
/// strictly as the daemon checks requests, so garbage is caught at the edge.
public enum ReplyDecoder {
    /// Decodes one line (without its terminator). `expecting` is the kind of reply the oldest
    /// outstanding request gets; pass nil when none is outstanding (then only events are valid).
    public static func decode(_ line: UnsafeRawBufferPointer, expecting: ReplyKind?) throws(ReplyDecodingError) -> DaemonMessage {
        let value: JSONValue
        do {
            value = try JSONParser.parse(line)
        } catch {
            throw ReplyDecodingError("not JSON: \(error.message)")
        }
        return try decode(value, expecting: expecting)
    }

    /// `decode(_:expecting:)` for a line held as a `String`.
    public static func decode(_ line: String, expecting: ReplyKind?) throws(ReplyDecodingError) -> DaemonMessage {
        var line = line
        let result = line.withUTF8 { utf8 in
            Result { () throws(ReplyDecodingError) -> DaemonMessage in
                try decode(UnsafeRawBufferPointer(utf8), expecting: expecting)
            }
        }
        return try result.get()
    }

    /// `decode(_:expecting:)` for an already parsed line.
    public static func decode(_ value: JSONValue, expecting: ReplyKind?) throws(ReplyDecodingError) -> DaemonMessage {
        guard case .object(let object) = value else { throw ReplyDecodingError("a line must be a JSON object") }
        let o = Fields(object: object, path: "")
        if let event = object["event"] {
            guard case .string(let kind) = event else { throw ReplyDecodingError("field 'event' must be a string") }
            switch kind {
            case "transition": return .event(try transitionEvent(o))
            case "reset": return .event(.reset(breaker: try o.name("breaker"), generation: try o.generation("generation"),
                                               at: try o.time("at")))
            case "heartbeat": return .event(.heartbeat(at: try o.time("at")))
            default: return .unknownEvent(kind)
            }
        }
        let id = try requestID(object)
        if try o.bool("ok") {
            guard let expecting else { throw ReplyDecodingError("a reply arrived with no request outstanding") }
            return .reply(id: id, try reply(o, expecting))
        }
        let error = try o.object("error")
        let text = try error.string("code")
        let message = try error.string("message")
        guard let code = ErrorCode(rawValue: text) else { throw ReplyDecodingError("unknown error code '\(text.prefix(64))'") }
        return .error(id: id, WireError(code, message, leader: try error.optionalString("leader")))
    }

    private static func requestID(_ object: JSONObject) throws(ReplyDecodingError) -> JSONValue? {
        switch object["id"] {
        case nil, .int, .string: return object["id"]
        case .double(let d) where d.isFinite: return object["id"]
        default: throw ReplyDecodingError("field 'id' must be a number or a string")
        }
    }

    private static func reply(_ o: Fields, _ kind: ReplyKind) throws(ReplyDecodingError) -> Reply {
        switch kind {
        case .pong: return .pong(version: try o.string("version"))
        case .decision: return .decision(try decision(o))
        case .recorded:
            return .recorded(state: try o.state("state"), generation: try o.generation("generation"),
                             stale: try o.optionalBool("stale") ?? false)
        case .breaker: return .breaker(try breakerView(try o.object("breaker")))
        case .list:
            var views: [BreakerView] = []
            for (index, element) in try o.array("breakers").enumerated() {
                guard case .object(let object) = element else { throw ReplyDecodingError("breakers[\(index)] must be an object") }
                views.append(try breakerView(Fields(object: object, path: "breakers[\(index)].")))
            }
            return .list(views)
        case .watching: return .watching
        case .authenticated: return .authenticated(name: try o.string("name"))
        case .hello:
            guard let text = try o.optionalString("role") else { return .hello(role: nil) }
            guard let role = ServingRole(rawValue: text) else { throw ReplyDecodingError("unknown role '\(text.prefix(64))'") }
            return .hello(role: role)
        case .history:
            var entries: [HistoryEntry] = []
            for (index, element) in try o.array("transitions").enumerated() {
                guard case .object(let object) = element else { throw ReplyDecodingError("transitions[\(index)] must be an object") }
                let e = Fields(object: object, path: "transitions[\(index)].")
                entries.append(HistoryEntry(transition: try transition(e), actor: try e.optionalString("actor"),
                                            note: try e.optionalString("note")))
            }
            return .history(entries)
        case .recordedBatch: return .recordedBatch(try batchResults(o))
        }
    }

    /// A `should-attempt` answer. The fields that only apply sometimes must be there exactly
    /// when they apply: a permit with every granted half-open trial, `retry_after_ms` with
    /// every rejection.
    private static func decision(_ o: Fields) throws(ReplyDecodingError) -> DecisionReply {
        let allow = try o.bool("allow")
        let state = try o.state("state")
        let d = DecisionReply(
            allow: allow, state: state, generation: try o.generation("generation"),
            cacheMs: try o.int("cache_ms", in: 0...Int64.max),
            permit: try o.optionalString("permit"), retryAfterMs: try o.optionalInt("retry_after_ms", in: 0...Int64.max),
            untilPushed: try o.optionalBool("until_pushed") ?? false)
        if let permit = d.permit, permit.isEmpty || permit.utf8.count > 128 {
            throw ReplyDecodingError("field 'permit' must be 1-128 bytes")
        }
        guard (allow && state == .halfOpen) == (d.permit != nil) else {
            throw ReplyDecodingError("a permit comes with, and only with, a granted half_open trial")
        }
        guard allow == (d.retryAfterMs == nil) else {
            throw ReplyDecodingError("retry_after_ms comes with, and only with, a rejection")
        }
        guard allow || state != .closed else { throw ReplyDecodingError("a closed breaker never rejects") }
        return d
    }

    /// The breaker object of `inspect`, `list`, `configure` and `reset`. `half_open_in_flight`
    /// is checked but not carried: permits are the daemon's, and a restored `CircuitBreaker`
    /// holds none.
    public static func breakerView(_ value: JSONValue) throws(ReplyDecodingError) -> BreakerView {
        guard case .object(let object) = value else { throw ReplyDecodingError("field 'breaker' must be an object") }
        return try breakerView(Fields(object: object, path: "breaker."))
    }

    private static func breakerView(_ o: Fields) throws(ReplyDecodingError) -> BreakerView {
        let name = try o.name("name")
        let state = try o.state("state")
        let c = try o.object("config")
        let limits = BreakerConfig.Limits.self
        var config = BreakerConfig(
            failureThreshold: Int(try c.int("failure_threshold", in: 1...Int64(limits.threshold.upperBound))),
            successThreshold: Int(try c.int("success_threshold", in: 1...Int64(limits.threshold.upperBound))),
            timeoutMs: try c.int("timeout_ms", in: limits.timeoutMs),
            halfOpenMaxCalls: Int(try c.int("half_open_max_calls", in: 1...Int64(limits.halfOpenMaxCalls.upperBound))),
            halfOpenPermitTimeoutMs: try c.int("half_open_permit_timeout_ms", in: limits.permitTimeoutMs))
        // The policy fields (absent from an older daemon's reply: the defaults then), read as
        // `configure` reads them, so a client sees the breaker's whole config.
        var policy = BreakerConfigPatch()
        do {
            try PolicyFields.decode(c.object, into: &policy)
            config = try policy.applied(to: config)
        } catch {
            throw ReplyDecodingError("\(o.path)config: \(error)")
        }
        let failureCount = Int(try o.int("failure_count", in: 0...Int64(limits.threshold.upperBound)))
        let successCount = Int(try o.int("success_count", in: 0...Int64(limits.threshold.upperBound)))
        _ = try o.int("half_open_in_flight", in: 0...Int64(limits.halfOpenMaxCalls.upperBound))
        let generation = try o.generation("generation")
        let openUntil = try o.optionalTime("open_until")
        guard (state == .open) == (openUntil != nil) else {
            throw ReplyDecodingError("\(o.path)open_until comes with, and only with, an open breaker")
        }
        var forced: ForcedOpen?
        if o.object.fields.contains(where: { $0.key == "forced" }) {
            let f = try o.object("forced")
            forced = ForcedOpen(reason: try f.optionalString("reason"), actor: try f.optionalString("by"), at: try f.time("at"))
        }
        guard (state == .forcedOpen) == (forced != nil) else {
            throw ReplyDecodingError("\(o.path)forced comes with, and only with, a forced_open breaker")
        }
        var last: LastTransition?
        if o.object.fields.contains(where: { $0.key == "last_transition" }) {
            let t = try o.object("last_transition")
            guard let reason = TransitionReason(rawValue: try t.string("reason")) else {
                throw ReplyDecodingError("\(o.path)last_transition.reason is not a transition reason")
            }
            guard try t.state("to") == state else {
                throw ReplyDecodingError("\(o.path)last_transition.to is not the breaker's state")
            }
            last = LastTransition(from: try t.state("from"), reason: reason)
        }
        let m = try o.object("metrics")
        let counts = try m.object("state_transitions")
        var transitions: [TransitionKind: UInt64] = [:]
        for kind in TransitionKind.all {
            transitions[kind] = UInt64(try counts.int(kind.key, in: 0...Int64.max))
        }
        let metrics = BreakerMetrics(
            totalCalls: UInt64(try m.int("total_calls", in: 0...Int64.max)),
            successfulCalls: UInt64(try m.int("successful_calls", in: 0...Int64.max)),
            failedCalls: UInt64(try m.int("failed_calls", in: 0...Int64.max)),
            rejectedCalls: UInt64(try m.int("rejected_calls", in: 0...Int64.max)),
            transitions: transitions.filter { $0.value > 0 },
            lastFailureTime: try m.optionalTime("last_failure_time"),
            lastStateChange: try m.time("last_state_change"))
        let breaker = CircuitBreaker(config: config, state: state, generation: generation, failureCount: failureCount,
                                     successCount: successCount, openUntil: openUntil, metrics: metrics, forced: forced,
                                     lastTransition: last)
        return BreakerView(name: name, breaker: breaker)
    }

    /// `record-batch`'s `results`: each a record's answer or an error object.
    private static func batchResults(_ o: Fields) throws(ReplyDecodingError) -> [BatchRecordResult] {
        var results: [BatchRecordResult] = []
        for (index, element) in try o.array("results").enumerated() {
            guard case .object(let object) = element else { throw ReplyDecodingError("results[\(index)] must be an object") }
            let r = Fields(object: object, path: "results[\(index)].")
            if try r.bool("ok") {
                results.append(.recorded(state: try r.state("state"), generation: try r.generation("generation"),
                                         stale: try r.optionalBool("stale") ?? false))
            } else {
                let error = try r.object("error")
                let text = try error.string("code")
                guard let code = ErrorCode(rawValue: text) else { throw ReplyDecodingError("unknown error code '\(text.prefix(64))'") }
                results.append(.error(WireError(code, try error.string("message"))))
            }
        }
        return results
    }

    private static func transitionEvent(_ o: Fields) throws(ReplyDecodingError) -> Event {
        .transition(breaker: try o.name("breaker"), try transition(o))
    }

    private static func transition(_ o: Fields) throws(ReplyDecodingError) -> Transition {
        let reasonText = try o.string("reason")
        guard let reason = TransitionReason(rawValue: reasonText) else {
            throw ReplyDecodingError("unknown transition reason '\(reasonText.prefix(64))'")
        }
        let transition = Transition(from: try o.state("from"), to: try o.state("to"),
                                    generation: try o.generation("generation"), at: try o.time("at"), reason: reason)
        guard transition.from != transition.to else {
            throw ReplyDecodingError("a transition must change the state")
        }
        return transition
    }
}
