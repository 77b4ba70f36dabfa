import BreakerCore
import BreakerWire

/// `--print-config`: the effective config in the config file's format, so the output can be
/// saved and used as a file as it is.
extension DaemonConfig {
    var json: JSONValue {
        .object(JSONObject([
            ("host", .string(host)), ("port", .int(Int64(port))), ("db", .string(db)),
            ("http_host", .string(httpHost)), ("http_port", .int(Int64(httpPort))),
            ("cache_ms", .int(cacheMs)), ("synchronous", .string(synchronous.rawValue)),
            ("max_line_length", .int(Int64(maxLineLength))), ("max_breakers", .int(Int64(maxBreakers))),
            ("max_connections", .int(Int64(maxConnections))), ("max_in_flight", .int(Int64(maxInFlight))),
            ("idle_timeout_ms", .int(idleTimeoutMs)), ("dedupe_window_ms", .int(dedupeWindowMs)),
            ("max_dedupe_keys", .int(Int64(maxDedupeKeys))),
            ("max_metric_series", .int(Int64(maxMetricSeries))), ("threads", .int(Int64(threads))), ("io", .string(io.rawValue)),
            ("log_level", .string(logLevel.rawValue)), ("log_format", .string(logFormat.rawValue)),
            ("admin_token_file", adminTokenFile.map(JSONValue.string) ?? .null),
            ("shutdown_timeout_ms", .int(shutdownTimeoutMs)),
            ("tls_cert", tlsCert.map(JSONValue.string) ?? .null), ("tls_key", tlsKey.map(JSONValue.string) ?? .null),
            ("tls_client_ca", tlsClientCA.map(JSONValue.string) ?? .null), ("http_tls", .bool(httpTLS)), ("ui", .bool(ui)),
            ("default_breaker", .object(Self.fields(preset: defaultPreset, defaultBreaker))),
            ("rules", .array(rules.map { rule in
                var object = Self.fields(preset: rule.preset, rule.config)
                object.fields.insert((key: "prefix", value: .string(rule.prefix)), at: 0)
                return .object(object)
            })),
        ].map { (key: $0.0, value: $0.1) }))
    }

    private static func fields(preset: BreakerPreset?, _ config: BreakerConfig) -> JSONObject {
        var fields: [(key: String, value: JSONValue)] = []
        if let preset { fields.append((key: "preset", value: .string(preset.rawValue))) }
        fields += [
            (key: "failure_threshold", value: .int(Int64(config.failureThreshold))),
            (key: "success_threshold", value: .int(Int64(config.successThreshold))),
            (key: "timeout_ms", value: .int(config.timeoutMs)),
            (key: "half_open_max_calls", value: .int(Int64(config.halfOpenMaxCalls))),
            (key: "half_open_permit_timeout_ms", value: .int(config.halfOpenPermitTimeoutMs)),
        ] + PolicyFields.json(config)
        return JSONObject(fields)
    }
}

extension JSONValue {
    /// Indented JSON for people; scalars are written by `JSONWriter`, so escaping is the wire's.
    func pretty(indent: String = "") -> String {
        let inner = indent + "  "
        switch self {
        case .object(let object) where !object.fields.isEmpty:
            let lines = object.fields.map { inner + JSONValue.string($0.key).pretty() + ": " + $0.value.pretty(indent: inner) }
            return "{\n" + lines.joined(separator: ",\n") + "\n" + indent + "}"
        case .array(let items) where !items.isEmpty:
            return "[\n" + items.map { inner + $0.pretty(indent: inner) }.joined(separator: ",\n") + "\n" + indent + "]"
        default:
            var w = JSONWriter(capacity: 32)
            w.value(self)
            return String(decoding: w.bytes, as: UTF8.self)
        }
    }
}
