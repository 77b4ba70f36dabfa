/// Why a JSON text was rejected.
public struct JSONParseError: Error, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case syntax
        case invalidUTF8
        case tooDeep
        case duplicateKey(String)
        case empty
    }

    public var kind: Kind
    /// Byte offset (from the start of the input) where the problem was detected.
    public var offset: Int
    /// Short human-readable description, including the offset.
    public var message: String

    public init(kind: Kind, offset: Int, message: String) {
        self.kind = kind
        self.offset = offset
        self.message = message
    }
}

/// A strict RFC 8259 parser.
///
/// The whole input is checked to be well-formed UTF-8 first, so an encoding
/// error anywhere is reported as `.invalidUTF8` even if a syntax error comes
/// earlier. Nesting is limited to `maxDepth` containers and checked before
/// descending, so hostile input cannot exhaust the stack (recursion depth is
/// bounded by `maxDepth`).
public enum JSONParser {
    public static let defaultMaxDepth = 32

    public static func parse(
        _ bytes: UnsafeRawBufferPointer, maxDepth: Int = defaultMaxDepth
    ) throws(JSONParseError) -> JSONValue {
        let buffer = bytes.assumingMemoryBound(to: UInt8.self)
        guard let base = buffer.baseAddress, !buffer.isEmpty else {
            throw JSONParseError(kind: .empty, offset: 0, message: "empty input")
        }
        if let bad = firstInvalidUTF8(base, buffer.count) {
            throw JSONParseError(kind: .invalidUTF8, offset: bad, message: "invalid UTF-8 at byte \(bad)")
        }
        var state = JSONParserState(base: base, end: buffer.count, maxDepth: maxDepth)
        return try state.parseDocument()
    }

    public static func parse(
        _ bytes: [UInt8], maxDepth: Int = defaultMaxDepth
    ) throws(JSONParseError) -> JSONValue {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(JSONParseError) -> JSONValue in try parse(raw, maxDepth: maxDepth) }
        }
        return try result.get()
    }

    public static func parse(
        _ string: String, maxDepth: Int = defaultMaxDepth
    ) throws(JSONParseError) -> JSONValue {
        var string = string
        let result = string.withUTF8 { utf8 in
            Result { () throws(JSONParseError) -> JSONValue in
                try parse(UnsafeRawBufferPointer(utf8), maxDepth: maxDepth)
            }
        }
        return try result.get()
    }
}

private let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\")
private let zero = UInt8(ascii: "0"), nine = UInt8(ascii: "9")

/// Cursor over already-UTF-8-validated bytes. Numbers, error helpers and the
/// UTF-8 validator live in JSONParser+Scanning.swift.
struct JSONParserState {
    let base: UnsafePointer<UInt8>
    let end: Int
    let maxDepth: Int
    var pos = 0

    init(base: UnsafePointer<UInt8>, end: Int, maxDepth: Int) {
        self.base = base
        self.end = end
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        guard pos < end else {
            throw JSONParseError(kind: .empty, offset: pos, message: "empty input")
        }
        let value = try parseValue(depth: 0)
        skipWhitespace()
        guard pos >= end else { throw unexpected("after the value") }
        return value
    }

    @inline(__always)
    mutating func skipWhitespace() {
        while pos < end {
            switch base[pos] {
            case 0x20, 0x0A, 0x0D, 0x09: pos &+= 1
            default: return
            }
        }
    }

    /// `depth` is the number of containers already open around this value.
    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard pos < end else { throw unexpected("expected a value") }
        switch base[pos] {
        case quote:
            return .string(try parseString())
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            guard depth < maxDepth else {
                throw JSONParseError(
                    kind: .tooDeep, offset: pos, message: "nesting deeper than \(maxDepth) levels")
            }
            return base[pos] == UInt8(ascii: "{")
                ? try parseObject(depth: depth &+ 1) : try parseArray(depth: depth &+ 1)
        case UInt8(ascii: "-"), zero...nine:
            return try parseNumber()
        case UInt8(ascii: "t"): try literal("true"); return .bool(true)
        case UInt8(ascii: "f"): try literal("false"); return .bool(false)
        case UInt8(ascii: "n"): try literal("null"); return .null
        default:
            throw unexpected("expected a value")
        }
    }

    mutating func literal(_ word: StaticString) throws(JSONParseError) {
        let text = word.utf8Start
        for k in 0..<word.utf8CodeUnitCount {
            guard pos < end, base[pos] == text[k] else { throw unexpected("in literal '\(word)'") }
            pos &+= 1
        }
    }

    mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        pos &+= 1  // '['
        var elements: [JSONValue] = []
        skipWhitespace()
        if pos < end, base[pos] == UInt8(ascii: "]") { pos &+= 1; return .array(elements) }
        elements.reserveCapacity(4)
        while true {
            skipWhitespace()
            elements.append(try parseValue(depth: depth))
            skipWhitespace()
            guard pos < end else { throw unexpected("expected ',' or ']'") }
            switch base[pos] {
            case UInt8(ascii: ","): pos &+= 1
            case UInt8(ascii: "]"): pos &+= 1; return .array(elements)
            default: throw unexpected("expected ',' or ']'")
            }
        }
    }

    mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        pos &+= 1  // '{'
        var fields: [(key: String, value: JSONValue)] = []
        var seen: Set<String>? = nil  // only built for large objects
        skipWhitespace()
        if pos < end, base[pos] == UInt8(ascii: "}") { pos &+= 1; return .object(JSONObject(fields)) }
        fields.reserveCapacity(4)
        while true {
            skipWhitespace()
            guard pos < end, base[pos] == quote else { throw unexpected("expected a string key") }
            let keyOffset = pos
            let key = try parseString()
            if isDuplicate(key, in: fields, seen: &seen) {
                throw JSONParseError(
                    kind: .duplicateKey(key), offset: keyOffset, message: "duplicate key \"\(key)\"")
            }
            skipWhitespace()
            guard pos < end, base[pos] == UInt8(ascii: ":") else { throw unexpected("expected ':'") }
            pos &+= 1
            skipWhitespace()
            fields.append((key: key, value: try parseValue(depth: depth)))
            skipWhitespace()
            guard pos < end else { throw unexpected("expected ',' or '}'") }
            switch base[pos] {
            case UInt8(ascii: ","): pos &+= 1
            case UInt8(ascii: "}"): pos &+= 1; return .object(JSONObject(fields))
            default: throw unexpected("expected ',' or '}'")
            }
        }
    }

    /// Linear scan for small objects, a hash set past 16 keys. Keys compare with
    /// `String ==`, i.e. canonically equivalent spellings count as duplicates.
    func isDuplicate(
        _ key: String, in fields: [(key: String, value: JSONValue)], seen: inout Set<String>?
    ) -> Bool {
        if seen == nil {
            if fields.count < 16 { return fields.contains { $0.key == key } }
            seen = Set(fields.map(\.key))
        }
        return !seen!.insert(key).inserted
    }

    /// Parses a string starting at its opening quote.
    mutating func parseString() throws(JSONParseError) -> String {
        pos &+= 1
        let start = pos
        while pos < end {
            let byte = base[pos]
            if byte == quote {
                // The input is valid UTF-8 and the slice ends on ASCII, so this cannot repair anything.
                let text = String(decoding: UnsafeBufferPointer(start: base + start, count: pos &- start), as: UTF8.self)
                pos &+= 1
                return text
            }
            if byte == backslash { return try parseEscapedString(from: start) }
            if byte < 0x20 { throw unexpected("control character in string") }
            pos &+= 1
        }
        throw unexpected("unterminated string")
    }

    /// Slow path: the string at `start` contains at least one escape (at `pos`).
    mutating func parseEscapedString(from start: Int) throws(JSONParseError) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(pos &- start &+ 16)
        out.append(contentsOf: UnsafeBufferPointer(start: base + start, count: pos &- start))
        while pos < end {
            let byte = base[pos]
            if byte == quote {
                pos &+= 1
                return String(decoding: out, as: UTF8.self)
            }
            if byte < 0x20 { throw unexpected("control character in string") }
            guard byte == backslash else { out.append(byte); pos &+= 1; continue }
            let escapeOffset = pos
            pos &+= 1
            guard pos < end else { break }
            switch base[pos] {
            case quote: out.append(quote)
            case backslash: out.append(backslash)
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar >= 0xDC00, scalar <= 0xDFFF {
                    throw syntax(at: escapeOffset, "unpaired low surrogate escape")
                }
                if scalar >= 0xD800, scalar <= 0xDBFF {
                    guard pos &+ 2 < end, base[pos &+ 1] == backslash, base[pos &+ 2] == UInt8(ascii: "u")
                    else { throw syntax(at: escapeOffset, "unpaired high surrogate escape") }
                    pos &+= 2
                    let low = try hex4()
                    guard low >= 0xDC00, low <= 0xDFFF else {
                        throw syntax(at: escapeOffset, "unpaired high surrogate escape")
                    }
                    scalar = 0x10000 &+ ((scalar &- 0xD800) << 10) &+ (low &- 0xDC00)
                }
                UTF8.encode(Unicode.Scalar(scalar)!) { out.append($0) }
            default:
                throw unexpected("invalid escape")
            }
            pos &+= 1
        }
        throw unexpected("unterminated string")
    }

    /// Reads the four hex digits after `\u` (pos is on the `u`); leaves pos on the last digit.
    mutating func hex4() throws(JSONParseError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            pos &+= 1
            guard pos < end else { throw unexpected("in \\u escape") }
            let c = base[pos]
            let digit: UInt8
            switch c {
            case zero...nine: digit = c &- zero
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c &- UInt8(ascii: "a") &+ 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c &- UInt8(ascii: "A") &+ 10
            default: throw unexpected("in \\u escape")
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}
