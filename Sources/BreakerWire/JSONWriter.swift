private let quote = UInt8(ascii: "\""), backslash = UInt8(ascii: "\\"), comma = UInt8(ascii: ",")

/// Streams compact JSON into a byte buffer, inserting commas automatically.
///
/// ```swift
/// var w = JSONWriter()
/// w.beginObject()
/// w.field("ok", true)
/// w.key("ids"); w.beginArray(); w.int(1); w.int(2); w.endArray()
/// w.endObject()          // {"ok":true,"ids":[1,2]}
/// ```
/// Nesting state for the first 64 levels lives in a bit set, so typical
/// documents allocate nothing beyond `bytes`. The writer does not check that
/// every key is followed by a value or that begin/end kinds match (beyond a
/// precondition that something is open); callers own the document shape.
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8]

    /// Nesting level: 0 at top level.
    private var depth = 0
    /// Bit `d - 1` set: the container at depth `d` (1...64) already has an element.
    private var hasElement: UInt64 = 0
    /// The same flag for depths above 64 (index `depth - 65`).
    private var deepHasElement: [Bool] = []
    /// A key was just written; the next value must not be preceded by a comma.
    private var afterKey = false

    public init(capacity: Int = 128) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Ends the document with `\n` and hands over the bytes: one protocol line, without the
    /// second array `bytes + [newline]` would allocate.
    public mutating func finishLine() -> [UInt8] {
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// Appends `text` as it is: no separator, no escaping, no nesting bookkeeping. For encoders
    /// that write constant runs of a known document shape; they own its validity.
    @inline(__always)
    public mutating func raw(_ text: StaticString) { append(text) }

    /// Ends the document with `\n`, leaving the bytes in `bytes` (for a reused writer).
    public mutating func endLine() {
        bytes.append(UInt8(ascii: "\n"))
    }

    /// Clears the output (keeping its capacity) so the writer can be reused.
    public mutating func reset() {
        bytes.removeAll(keepingCapacity: true)
        depth = 0
        hasElement = 0
        deepHasElement.removeAll()
        afterKey = false
    }

    // MARK: Containers

    public mutating func beginObject() { open(UInt8(ascii: "{")) }
    public mutating func endObject() { close(UInt8(ascii: "}")) }
    public mutating func beginArray() { open(UInt8(ascii: "[")) }
    public mutating func endArray() { close(UInt8(ascii: "]")) }

    /// Writes the separating comma if needed, the escaped key and ':'.
    public mutating func key(_ key: String) {
        separator()
        writeQuoted(key)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    // MARK: Scalars

    public mutating func string(_ value: String) {
        separator()
        writeQuoted(value)
    }

    public mutating func int(_ value: Int64) {
        separator()
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude  // UInt64, so Int64.min is fine
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var i = 20
            repeat {
                i &-= 1
                digits[i] = UInt8(truncatingIfNeeded: magnitude % 10) &+ UInt8(ascii: "0")
                magnitude /= 10
            } while magnitude != 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i...]))
        }
    }

    public mutating func int(_ value: Int) { int(Int64(value)) }

    /// Writes a finite double in Swift's shortest round-trip form (`2.0`, `1e+20`).
    public mutating func double(_ value: Double) {
        precondition(value.isFinite, "JSON cannot represent \(value)")
        separator()
        bytes.append(contentsOf: value.description.utf8)
    }

    public mutating func bool(_ value: Bool) {
        separator()
        append(value ? "true" : "false")
    }

    public mutating func null() {
        separator()
        append("null")
    }

    /// Writes a whole value tree (doubles must be finite).
    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let b): bool(b)
        case .int(let i): int(i)
        case .double(let d): double(d)
        case .string(let s): string(s)
        case .array(let elements):
            beginArray()
            for element in elements { self.value(element) }
            endArray()
        case .object(let object):
            beginObject()
            for field in object.fields {
                key(field.key)
                self.value(field.value)
            }
            endObject()
        }
    }

    // MARK: Fields (key + value)

    public mutating func field(_ key: String, _ value: String) { self.key(key); string(value) }
    public mutating func field(_ key: String, _ value: Int64) { self.key(key); int(value) }
    public mutating func field(_ key: String, _ value: Int) { self.key(key); int(value) }
    public mutating func field(_ key: String, _ value: Double) { self.key(key); double(value) }
    public mutating func field(_ key: String, _ value: Bool) { self.key(key); bool(value) }
    public mutating func field(_ key: String, _ value: JSONValue) { self.key(key); self.value(value) }

    // MARK: Internals

    @inline(__always)
    private mutating func separator() {
        if afterKey {
            afterKey = false
            return
        }
        guard depth > 0 else { return }
        if depth <= 64 {
            let mask: UInt64 = 1 << UInt64(depth &- 1)
            if hasElement & mask != 0 { bytes.append(comma) } else { hasElement |= mask }
        } else if deepHasElement[depth &- 65] {
            bytes.append(comma)
        } else {
            deepHasElement[depth &- 65] = true
        }
    }

    private mutating func open(_ bracket: UInt8) {
        separator()
        bytes.append(bracket)
        depth &+= 1
        if depth <= 64 {
            hasElement &= ~(1 << UInt64(depth &- 1))
        } else {
            deepHasElement.append(false)
        }
    }

    private mutating func close(_ bracket: UInt8) {
        precondition(depth > 0, "JSONWriter: end without a matching begin")
        assert(!afterKey, "JSONWriter: key without a value")
        bytes.append(bracket)
        if depth > 64 { deepHasElement.removeLast() }
        depth &-= 1
    }

    @inline(__always)
    private mutating func append(_ text: StaticString) {
        bytes.append(contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private mutating func writeQuoted(_ text: String) {
        bytes.append(quote)
        var text = text  // withUTF8 is mutating; native strings are not copied
        text.withUTF8 { utf8 in
            var runStart = 0
            for i in 0..<utf8.count {
                let byte = utf8[i]
                guard byte < 0x20 || byte == quote || byte == backslash else { continue }
                if runStart < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i])) }
                runStart = i &+ 1
                bytes.append(backslash)
                switch byte {
                case quote, backslash: bytes.append(byte)
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                default:
                    let hex: StaticString = "0123456789abcdef"
                    append("u00")
                    bytes.append(hex.utf8Start[Int(byte >> 4)])
                    bytes.append(hex.utf8Start[Int(byte & 0xF)])
                }
            }
            if runStart < utf8.count {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
            }
        }
        bytes.append(quote)
    }
}
