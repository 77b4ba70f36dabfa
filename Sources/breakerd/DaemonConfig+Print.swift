import BreakerCore
import BreakerPostgres
import BreakerWire

/// `--print-config`: the effective config in the config file's format (the settings in
/// `DaemonSetting.all`'s order), so the output can be saved and used as a file as it is.
extension DaemonConfig {
    var json: JSONValue {
        var object = JSONObject(DaemonSetting.all.map { (key: $0.key, value: $0.get(self)) })
        // A password in the URL is never printed; keep it in postgres_password_file instead.
        if let index = object.fields.firstIndex(where: { $0.key == "postgres_url" }), case .string(let text) = object.fields[index].value {
            object.fields[index].value = .string(text.split(separator: ",", omittingEmptySubsequences: false)
                .map { PostgresURL.redacted(String($0)) }.joined(separator: ","))
        }
        object.fields.append((key: "default_breaker", value: .object(Self.fields(preset: defaultPreset, defaultBreaker))))
        object.fields.append((key: "rules", value: .array(rules.map { rule in
            var object = Self.fields(preset: rule.preset, rule.config)
            object.fields.insert((key: "prefix", value: .string(rule.prefix)), at: 0)
            return .object(object)
        })))
        return .object(object)
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
