import BreakerCore

/// Throwing accessors over one object; `path` prefixes field names in messages.
struct Fields {
    let object: JSONObject
    let path: String

    func value(_ key: String) throws(ReplyDecodingError) -> JSONValue {
        guard let value = object[key] else { throw ReplyDecodingError("missing field '\(path)\(key)'") }
        return value
    }

    func string(_ key: String) throws(ReplyDecodingError) -> String {
        guard case .string(let s) = try value(key) else { throw wrongType(key, "a string") }
        return s
    }

    func optionalString(_ key: String) throws(ReplyDecodingError) -> String? {
        object[key] == nil ? nil : try string(key)
    }

    func bool(_ key: String) throws(ReplyDecodingError) -> Bool {
        guard case .bool(let b) = try value(key) else { throw wrongType(key, "a boolean") }
        return b
    }

    func optionalBool(_ key: String) throws(ReplyDecodingError) -> Bool? {
        object[key] == nil ? nil : try bool(key)
    }

    func int(_ key: String, in range: ClosedRange<Int64>) throws(ReplyDecodingError) -> Int64 {
        guard case .int(let n) = try value(key) else { throw wrongType(key, "an integer") }
        guard range.contains(n) else {
            throw ReplyDecodingError("field '\(path)\(key)' must be between \(range.lowerBound) and \(range.upperBound), got \(n)")
        }
        return n
    }

    func optionalInt(_ key: String, in range: ClosedRange<Int64>) throws(ReplyDecodingError) -> Int64? {
        object[key] == nil ? nil : try int(key, in: range)
    }

    func generation(_ key: String) throws(ReplyDecodingError) -> UInt64 {
        UInt64(try int(key, in: 0...Int64.max))
    }

    func state(_ key: String) throws(ReplyDecodingError) -> BreakerState {
        let text = try string(key)
        guard let state = BreakerState(wireName: text) else {
            throw ReplyDecodingError("field '\(path)\(key)' is not a state: '\(text.prefix(64))'")
        }
        return state
    }

    func name(_ key: String) throws(ReplyDecodingError) -> String {
        let text = try string(key)
        do { try BreakerName.validate(text) } catch { throw ReplyDecodingError("field '\(path)\(key)': \(error.message)") }
        return text
    }

    func time(_ key: String) throws(ReplyDecodingError) -> Timestamp {
        let text = try string(key)
        guard let time = RFC3339.parse(text) else {
            throw ReplyDecodingError("field '\(path)\(key)' is not an RFC 3339 UTC time: '\(text.prefix(64))'")
        }
        return time
    }

    func optionalTime(_ key: String) throws(ReplyDecodingError) -> Timestamp? {
        object[key] == nil ? nil : try time(key)
    }

    func object(_ key: String) throws(ReplyDecodingError) -> Fields {
        guard case .object(let o) = try value(key) else { throw wrongType(key, "an object") }
        return Fields(object: o, path: "\(path)\(key).")
    }

    func array(_ key: String) throws(ReplyDecodingError) -> [JSONValue] {
        guard case .array(let a) = try value(key) else { throw wrongType(key, "an array") }
        return a
    }

    private func wrongType(_ key: String, _ what: String) -> ReplyDecodingError {
        ReplyDecodingError("field '\(path)\(key)' must be \(what)")
    }
}
