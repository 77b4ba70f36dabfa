import BreakerCore
import BreakerServer
import BreakerStore
import BreakerWire
import Foundation
import Logging

/// The config file: one JSON object, parsed strictly (no comments, no duplicate keys) and with
/// unknown keys rejected, so a misspelt setting stops the daemon instead of being ignored.
/// Keys are the flags' names in snake_case, plus `default_breaker` and `rules`; README.md
/// ("Configuration") documents them, and `deploy/breakerd.json` is a complete example.
extension DaemonConfig {
    static let breakerKeys = ["preset", "failure_threshold", "success_threshold", "timeout_ms",
                              "half_open_max_calls", "half_open_permit_timeout_ms"] + PolicyFields.keys

    /// Applies every setting the file at `path` has on top of `self`.
    mutating func apply(file path: String) throws(DaemonConfigError) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DaemonConfigError("cannot read config file \(path)")
        }
        let parsed = [UInt8](data).withUnsafeBytes { bytes in
            Result { () throws(JSONParseError) in try JSONParser.parse(bytes, maxDepth: 8) }
        }
        let value: JSONValue
        switch parsed {
        case .success(let parsed): value = parsed
        case .failure(let error): throw DaemonConfigError("config file \(path) is not valid JSON: \(error.message)")
        }
        do throws(DaemonConfigError) {
            try apply(json: value)
        } catch {
            throw DaemonConfigError("config file \(path): \(error.description)")
        }
    }

    /// Applies a parsed config object. `default_breaker` is read before `rules`, wherever it
    /// stands, because rules without a preset start from it.
    mutating func apply(json value: JSONValue) throws(DaemonConfigError) {
        guard case .object(let root) = value else { throw DaemonConfigError("the top level must be a JSON object") }
        if let breaker = root["default_breaker"] {
            (defaultPreset, defaultBreaker) = try Self.breaker(breaker, key: "default_breaker", base: .default)
        }
        for (key, value) in root.fields {
            switch key {
            case "host": host = try Self.string(value, key)
            case "port": port = try Self.int(value, key)
            case "db": db = try Self.string(value, key)
            case "http_host": httpHost = try Self.string(value, key)
            case "http_port": httpPort = try Self.int(value, key)
            case "cache_ms": cacheMs = Int64(try Self.int(value, key))
            case "synchronous": synchronous = try Self.choice(value, key, SynchronousMode.init(rawValue:))
            case "max_line_length": maxLineLength = try Self.int(value, key)
            case "max_breakers": maxBreakers = try Self.int(value, key)
            case "max_connections": maxConnections = try Self.int(value, key)
            case "max_in_flight": maxInFlight = try Self.int(value, key)
            case "idle_timeout_ms": idleTimeoutMs = Int64(try Self.int(value, key))
            case "dedupe_window_ms": dedupeWindowMs = Int64(try Self.int(value, key))
            case "max_dedupe_keys": maxDedupeKeys = try Self.int(value, key)
            case "max_metric_series": maxMetricSeries = try Self.int(value, key)
            case "threads": threads = try Self.int(value, key)
            case "io": io = try Self.choice(value, key, BreakerServer.IO.init(rawValue:))
            case "log_level": logLevel = try Self.choice(value, key, Logger.Level.init(rawValue:))
            case "log_format": logFormat = try Self.choice(value, key, LogFormat.init(rawValue:))
            case "admin_token_file": adminTokenFile = value == .null ? nil : try Self.string(value, key)
            case "shutdown_timeout_ms": shutdownTimeoutMs = Int64(try Self.int(value, key))
            case "tls_cert": tlsCert = value == .null ? nil : try Self.string(value, key)
            case "tls_key": tlsKey = value == .null ? nil : try Self.string(value, key)
            case "tls_client_ca": tlsClientCA = value == .null ? nil : try Self.string(value, key)
            case "http_tls":
                guard case .bool(let on) = value else { throw DaemonConfigError("'\(key)' must be true or false") }
                httpTLS = on
            case "ui":
                guard case .bool(let on) = value else { throw DaemonConfigError("'\(key)' must be true or false") }
                ui = on
            case "default_breaker": break
            case "rules": rules = try Self.rules(value, defaults: defaultBreaker)
            default:
                throw DaemonConfigError("unknown key '\(key)'; known keys: \(Self.fileKeys.joined(separator: ", "))")
            }
        }
    }

    static let fileKeys = ["host", "port", "db", "http_host", "http_port", "cache_ms", "synchronous",
                           "max_line_length", "max_breakers", "max_connections", "max_in_flight", "idle_timeout_ms", "dedupe_window_ms", "max_dedupe_keys", "max_metric_series", "threads", "io", "log_level", "log_format", "admin_token_file",
                           "shutdown_timeout_ms", "tls_cert", "tls_key", "tls_client_ca", "http_tls", "ui", "default_breaker", "rules"]

    private static func rules(_ value: JSONValue, defaults: BreakerConfig) throws(DaemonConfigError) -> [Rule] {
        guard case .array(let items) = value else { throw DaemonConfigError("'rules' must be an array") }
        var rules: [Rule] = []
        for (index, item) in items.enumerated() {
            let key = "rules[\(index)]"
            guard case .object(let object) = item, let prefixValue = object["prefix"] else {
                throw DaemonConfigError("\(key) must be an object with a 'prefix'")
            }
            var prefix = try string(prefixValue, "\(key).prefix")
            // "kafka-topic-*" is accepted as a glob that means the prefix "kafka-topic-".
            if prefix.hasSuffix("*") { prefix.removeLast() }
            do throws(WireError) {
                try BreakerName.validatePrefix(prefix)
            } catch {
                throw DaemonConfigError("\(key).prefix: \(error.message) (only a trailing '*' is allowed)")
            }
            let rest = JSONObject(object.fields.filter { $0.key != "prefix" })
            let (preset, config) = try breaker(.object(rest), key: key, base: defaults)
            rules.append(Rule(prefix: prefix, preset: preset, config: config))
        }
        return rules
    }

    /// A breaker config object: an optional `preset` as the base (else `base`), then any of the
    /// protocol's config fields on top, validated with the protocol's ranges.
    private static func breaker(_ value: JSONValue, key: String, base: BreakerConfig)
        throws(DaemonConfigError) -> (BreakerPreset?, BreakerConfig) {
        guard case .object(let object) = value else { throw DaemonConfigError("'\(key)' must be an object") }
        var preset: BreakerPreset?
        var patch = BreakerConfigPatch()
        var policy = JSONObject()
        for (field, value) in object.fields {
            let path = "\(key).\(field)"
            switch field {
            case "preset":
                preset = try choice(value, path, BreakerPreset.init(rawValue:))
            case "failure_threshold": patch.failureThreshold = try int(value, path)
            case "success_threshold": patch.successThreshold = try int(value, path)
            case "timeout_ms": patch.timeoutMs = Int64(try int(value, path))
            case "half_open_max_calls": patch.halfOpenMaxCalls = try int(value, path)
            case "half_open_permit_timeout_ms": patch.halfOpenPermitTimeoutMs = Int64(try int(value, path))
            case _ where PolicyFields.keys.contains(field): policy.fields.append((key: field, value: value))
            default:
                throw DaemonConfigError("unknown key '\(path)'; known keys: \(breakerKeys.joined(separator: ", "))")
            }
        }
        do throws(WireError) {
            try PolicyFields.decode(policy, into: &patch)
        } catch {
            throw DaemonConfigError("\(key): \(error.message)")
        }
        do throws(ConfigError) {
            return (preset, try patch.applied(to: preset?.config ?? base))
        } catch {
            throw DaemonConfigError("\(key): \(error.message)")
        }
    }

    private static func string(_ value: JSONValue, _ key: String) throws(DaemonConfigError) -> String {
        guard case .string(let text) = value else { throw DaemonConfigError("'\(key)' must be a string") }
        return text
    }

    private static func int(_ value: JSONValue, _ key: String) throws(DaemonConfigError) -> Int {
        guard case .int(let number) = value, let int = Int(exactly: number) else {
            throw DaemonConfigError("'\(key)' must be an integer")
        }
        return int
    }

    private static func choice<T>(_ value: JSONValue, _ key: String, _ make: (String) -> T?) throws(DaemonConfigError) -> T {
        let text = try string(value, key)
        guard let choice = make(text) else { throw DaemonConfigError("'\(key)' has an unknown value '\(text)'") }
        return choice
    }
}
