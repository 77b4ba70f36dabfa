import BreakerCore

/// Writes replies and events as single `\n`-terminated JSON lines.
public enum ReplyEncoder {
    public static func encode(_ reply: Reply, id: JSONValue?) -> [UInt8] {
        var w = JSONWriter(capacity: 160)
        w.beginObject()
        w.field("ok", true)
        if let id { w.key("id"); w.value(id) }
        switch reply {
        case .pong(let version):
            w.field("version", version)
        case .decision(let d):
            writeDecision(d, to: &w)
        case .recorded(let state, let generation, let stale):
            w.field("state", state.wireName)
            w.key("generation"); w.int(Int64(truncatingIfNeeded: generation))
            if stale { w.field("stale", true) }
        case .breaker(let view):
            w.key("breaker"); write(view, to: &w)
        case .list(let views):
            w.key("breakers")
            w.beginArray()
            for view in views { write(view, to: &w) }
            w.endArray()
        case .watching:
            break
        case .hello(let role):
            if let role { w.field("role", role.rawValue) }
        case .authenticated(let name):
            w.field("name", name)
        case .history(let entries):
            w.key("transitions")
            w.beginArray()
            for entry in entries {
                let t = entry.transition
                w.beginObject()
                w.field("from", t.from.wireName)
                w.field("to", t.to.wireName)
                w.key("generation"); w.int(Int64(truncatingIfNeeded: t.generation))
                w.field("at", RFC3339.format(t.at))
                w.field("reason", t.reason.wireName)
                if let actor = entry.actor { w.field("actor", actor) }
                if let note = entry.note { w.field("note", note) }
                w.endObject()
            }
            w.endArray()
        case .recordedBatch(let results):
            w.key("results")
            w.beginArray()
            for result in results {
                w.beginObject()
                switch result {
                case .recorded(let state, let generation, let stale):
                    w.field("ok", true)
                    w.field("state", state.wireName)
                    w.key("generation"); w.int(Int64(truncatingIfNeeded: generation))
                    if stale { w.field("stale", true) }
                case .error(let error):
                    w.field("ok", false)
                    writeError(error, to: &w)
                }
                w.endObject()
            }
            w.endArray()
        }
        w.endObject()
        return w.finishLine()
    }

    /// The line `encode(.decision(d), id:)` returns, written into `w` (cleared first, its
    /// capacity kept): a connection reuses one writer for its decisions instead of allocating
    /// an array per reply. Both go through `writeDecision`, so the bytes cannot differ.
    /// The keys and punctuation are written as constant runs; `ReplyEncoderReuseTests` checks
    /// every field combination against `encode(.decision(d), id:)` byte for byte.
    public static func encodeDecision(_ d: DecisionReply, id: JSONValue?, into w: inout JSONWriter) {
        w.reset()
        if let id {
            w.raw(#"{"ok":true,"id":"#)
            w.value(id)  // at depth 0 for the writer: no separator before it
            w.raw(d.allow ? #","allow":true,"state":""# : #","allow":false,"state":""#)
        } else {
            w.raw(d.allow ? #"{"ok":true,"allow":true,"state":""# : #"{"ok":true,"allow":false,"state":""#)
        }
        switch d.state {
        case .closed: w.raw("closed")
        case .open: w.raw("open")
        case .halfOpen: w.raw("half_open")
        case .forcedOpen: w.raw("forced_open")
        }
        w.raw(#"","generation":"#)
        w.int(Int64(truncatingIfNeeded: d.generation))
        w.raw(#","cache_ms":"#)
        w.int(d.cacheMs)
        if d.untilPushed { w.raw(#","until_pushed":true"#) }
        if let permit = d.permit { w.raw(#","permit":"#); w.string(permit) }
        if let retry = d.retryAfterMs { w.raw(#","retry_after_ms":"#); w.int(retry) }
        w.raw("}\n")
    }

    /// The line `encode(.recorded(state:generation:stale:), id:)` returns, written as constant
    /// runs (checked byte for byte against it by `ReplyEncoderReuseTests`).
    public static func encodeRecorded(state: BreakerState, generation: UInt64, stale: Bool, id: JSONValue?) -> [UInt8] {
        var w = JSONWriter(capacity: 96)
        if let id {
            w.raw(#"{"ok":true,"id":"#)
            w.value(id)  // at depth 0 for the writer: no separator before it
            w.raw(#","state":""#)
        } else {
            w.raw(#"{"ok":true,"state":""#)
        }
        switch state {
        case .closed: w.raw("closed")
        case .open: w.raw("open")
        case .halfOpen: w.raw("half_open")
        case .forcedOpen: w.raw("forced_open")
        }
        w.raw(#"","generation":"#)
        w.int(Int64(truncatingIfNeeded: generation))
        if stale { w.raw(#","stale":true"#) }
        w.raw("}\n")
        return w.bytes
    }

    @inline(__always)
    static func writeDecision(_ d: DecisionReply, to w: inout JSONWriter) {
        w.field("allow", d.allow)
        w.field("state", d.state.wireName)
        w.key("generation"); w.int(Int64(truncatingIfNeeded: d.generation))
        w.field("cache_ms", d.cacheMs)
        if d.untilPushed { w.field("until_pushed", true) }
        if let permit = d.permit { w.field("permit", permit) }
        if let retry = d.retryAfterMs { w.field("retry_after_ms", retry) }
    }

    public static func encode(_ error: WireError, id: JSONValue?) -> [UInt8] {
        var w = JSONWriter(capacity: 128)
        w.beginObject()
        w.field("ok", false)
        if let id { w.key("id"); w.value(id) }
        writeError(error, to: &w)
        w.endObject()
        return w.finishLine()
    }

    /// `"forced":{"reason":…,"by":…,"at":…}`, as `inspect`, `list` and the status page show a
    /// force-open.
    public static func writeForced(_ forced: ForcedOpen, to w: inout JSONWriter) {
        w.key("forced")
        w.beginObject()
        if let reason = forced.reason { w.field("reason", reason) }
        if let actor = forced.actor { w.field("by", actor) }
        w.field("at", RFC3339.format(forced.at))
        w.endObject()
    }

    /// `"error":{"code":…,"message":…}`, as error replies and batch results carry it.
    static func writeError(_ error: WireError, to w: inout JSONWriter) {
        w.key("error")
        w.beginObject()
        w.field("code", error.code.rawValue)
        w.field("message", error.message)
        if let leader = error.leader { w.field("leader", leader) }
        w.endObject()
    }

    public static func encode(_ event: Event) -> [UInt8] {
        var w = JSONWriter(capacity: 160)
        switch event {
        case .transition(let name, let t):
            w.beginObject()
            w.field("event", "transition")
            w.field("breaker", name)
            w.field("from", t.from.wireName)
            w.field("to", t.to.wireName)
            w.key("generation"); w.int(Int64(truncatingIfNeeded: t.generation))
            w.field("at", RFC3339.format(t.at))
            w.field("reason", t.reason.wireName)
            w.endObject()
        case .reset(let name, let generation, let at):
            w.beginObject()
            w.field("event", "reset")
            w.field("breaker", name)
            w.key("generation"); w.int(Int64(truncatingIfNeeded: generation))
            w.field("at", RFC3339.format(at))
            w.endObject()
        case .heartbeat(let at):
            w.beginObject()
            w.field("event", "heartbeat")
            w.field("at", RFC3339.format(at))
            w.endObject()
        }
        return w.finishLine()
    }

    /// The policy half of the `config` object; optional rules that are off are `null`.
    static func writePolicy(_ c: BreakerConfig, to w: inout JSONWriter) {
        for (key, value) in PolicyFields.json(c) { w.key(key); w.value(value) }
    }

    /// How much of a breaker `write` puts out.
    public enum BreakerForm: Sendable {
        /// Everything: the breaker object of `inspect` and `list`.
        case full
        /// What a status page tile shows, with the same field names: of the config only `policy`
        /// and `timeout_ms`, no reporters or in-flight trials, and counts that are 0 left out, so
        /// 100,000 breakers stay one compact fetch.
        case tile
    }

    /// The breaker object of `inspect` and `list` (`.full`), or its tile subset (`.tile`).
    public static func write(_ view: BreakerView, to w: inout JSONWriter, form: BreakerForm = .full) {
        let b = view.breaker
        let full = form == .full
        w.beginObject()
        w.field("name", view.name)
        w.field("state", b.state.wireName)
        w.key("config")
        w.beginObject()
        if full {
            w.field("failure_threshold", b.config.failureThreshold)
            w.field("success_threshold", b.config.successThreshold)
            w.field("timeout_ms", b.config.timeoutMs)
            w.field("half_open_max_calls", b.config.halfOpenMaxCalls)
            w.field("half_open_permit_timeout_ms", b.config.halfOpenPermitTimeoutMs)
            writePolicy(b.config, to: &w)
        } else {
            w.field("policy", b.config.policy.wireName)
            w.field("timeout_ms", b.config.timeoutMs)
        }
        w.endObject()
        if full || b.failureCount > 0 { w.field("failure_count", b.failureCount) }
        if let window = b.window {
            // Over the current window; absent while it is empty (a rate of nothing is no rate).
            if let rate = window.failureRate { w.field("failure_rate", rate) }
            if full {
                if let rate = window.slowCallRate { w.field("slow_call_rate", rate) }
                w.key("reporters")
                w.beginArray()
                for reporter in window.reporters { w.string(reporter) }
                w.endArray()
            }
        }
        if full && b.reopenCount > 0 { w.field("reopen_count", b.reopenCount) }
        if full || b.successCount > 0 { w.field("success_count", b.successCount) }
        if full { w.field("half_open_in_flight", b.permits.count) }
        w.key("generation"); w.int(Int64(truncatingIfNeeded: b.generation))
        if let until = b.openUntil { w.field("open_until", RFC3339.format(until)) }
        if let forced = b.forced { writeForced(forced, to: &w) }
        if let last = b.lastTransition {
            w.key("last_transition")
            w.beginObject()
            w.field("from", last.from.wireName)
            w.field("to", b.state.wireName)
            w.field("at", RFC3339.format(b.metrics.lastStateChange))
            w.field("reason", last.reason.wireName)
            w.endObject()
        }
        let m = b.metrics
        w.key("metrics")
        w.beginObject()
        func count(_ key: String, _ value: UInt64) {
            if full || value > 0 { w.key(key); w.int(Int64(truncatingIfNeeded: value)) }
        }
        count("total_calls", m.totalCalls)
        if full { count("successful_calls", m.successfulCalls) }
        count("failed_calls", m.failedCalls)
        count("rejected_calls", m.rejectedCalls)
        if full {
            w.key("state_transitions")
            w.beginObject()
            for (kind, count) in m.transitionCounts { w.key(kind.key); w.int(Int64(truncatingIfNeeded: count)) }
            w.endObject()
            if let t = m.lastFailureTime { w.field("last_failure_time", RFC3339.format(t)) }
        }
        w.field("last_state_change", RFC3339.format(m.lastStateChange))
        w.endObject()
        w.endObject()
    }
}
