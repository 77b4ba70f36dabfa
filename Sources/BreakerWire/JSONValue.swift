/// A parsed JSON document.
///
/// Numbers: a token with no fraction and no exponent that fits in `Int64` is
/// `.int`; every other number (fraction, exponent, or an integer outside the
/// `Int64` range) is `.double`. A `.double` may be `±infinity` when the text
/// overflows (`1e999`); callers that need finite numbers must check.
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// A JSON object that keeps its keys in document order.
///
/// Objects on the wire are small, so lookup is a linear scan. Equality is
/// order-sensitive: two objects are equal when they hold the same key/value
/// pairs in the same order (the parser never reorders keys, so a
/// write → parse round trip compares equal). Hashing follows the same rule.
public struct JSONObject: Sendable, Hashable {
    public var fields: [(key: String, value: JSONValue)]

    public init(_ fields: [(key: String, value: JSONValue)] = []) {
        self.fields = fields
    }

    /// The value of the first field named `key`, or `nil`.
    public subscript(key: String) -> JSONValue? {
        for field in fields where field.key == key {
            return field.value
        }
        return nil
    }

    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.fields.count == rhs.fields.count else { return false }
        for (l, r) in zip(lhs.fields, rhs.fields) {
            guard l.key == r.key, l.value == r.value else { return false }
        }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(fields.count)
        for field in fields {
            hasher.combine(field.key)
            hasher.combine(field.value)
        }
    }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    /// `["op": .string("x"), "id": .int(1)]` — keys keep the literal's order.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.fields = elements.map { (key: $0.0, value: $0.1) }
    }
}
