// Lexical helpers for JSONParser: UTF-8 validation, numbers and error text.

private let zero = UInt8(ascii: "0"), nine = UInt8(ascii: "9")

/// Exactly representable powers of ten for the exact fast path of number conversion.
private let powersOfTen: [Double] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
]

extension JSONParser {
    /// Offset of the first byte that does not start a well-formed UTF-8
    /// sequence (overlong forms, encoded surrogates, > U+10FFFF and truncated
    /// sequences are all ill-formed), or `nil` if the input is valid.
    static func firstInvalidUTF8(_ p: UnsafePointer<UInt8>, _ count: Int) -> Int? {
        var i = 0
        while i < count {
            // ASCII fast path, eight bytes at a time.
            while i &+ 8 <= count {
                let word = UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)
                if word & 0x8080_8080_8080_8080 != 0 { break }
                i &+= 8
            }
            guard i < count else { break }
            let lead = p[i]
            if lead < 0x80 { i &+= 1; continue }
            let length: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF  // bounds for the second byte
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0  // no overlong 3-byte forms
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F  // no surrogates
            case 0xF0: length = 4; low = 0x90  // no overlong 4-byte forms
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F  // nothing above U+10FFFF
            default: return i  // continuation byte, C0/C1 or F5...FF
            }
            guard i &+ length <= count, p[i &+ 1] >= low, p[i &+ 1] <= high else { return i }
            var k = 2
            while k < length {
                guard p[i &+ k] & 0xC0 == 0x80 else { return i }
                k &+= 1
            }
            i &+= length
        }
        return nil
    }
}

extension JSONParserState {
    /// Parses a number starting at `pos` ('-' or a digit) with the exact RFC 8259 grammar.
    mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = pos
        let negative = base[pos] == UInt8(ascii: "-")
        if negative { pos &+= 1 }
        // Up to 19 significant digits are accumulated exactly; more set `truncated`.
        var mantissa: UInt64 = 0, significant = 0, exponent10 = 0, truncated = false
        guard pos < end, isDigit(base[pos]) else { throw unexpected("expected a digit") }
        if base[pos] == zero {
            pos &+= 1
            if pos < end, isDigit(base[pos]) { throw syntax(at: pos &- 1, "leading zero in number") }
        } else {
            while pos < end, isDigit(base[pos]) {
                if significant < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(base[pos] &- zero)
                    significant &+= 1
                } else {
                    truncated = true
                    exponent10 &+= 1
                }
                pos &+= 1
            }
        }
        var integral = true
        if pos < end, base[pos] == UInt8(ascii: ".") {
            integral = false
            pos &+= 1
            guard pos < end, isDigit(base[pos]) else { throw unexpected("expected a digit after '.'") }
            while pos < end, isDigit(base[pos]) {
                let digit = base[pos] &- zero
                if mantissa == 0, digit == 0 {
                    exponent10 &-= 1  // leading zeros of the fraction are not significant
                } else if significant < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(digit)
                    significant &+= 1
                    exponent10 &-= 1
                } else if digit != 0 {
                    truncated = true
                }
                pos &+= 1
            }
        }
        if pos < end, base[pos] | 0x20 == UInt8(ascii: "e") {
            integral = false
            pos &+= 1
            var exponentNegative = false
            if pos < end, base[pos] == UInt8(ascii: "+") || base[pos] == UInt8(ascii: "-") {
                exponentNegative = base[pos] == UInt8(ascii: "-")
                pos &+= 1
            }
            guard pos < end, isDigit(base[pos]) else { throw unexpected("expected a digit in exponent") }
            var value = 0
            while pos < end, isDigit(base[pos]) {
                if value < 100_000 { value = value &* 10 &+ Int(base[pos] &- zero) }  // saturate
                pos &+= 1
            }
            exponent10 &+= exponentNegative ? -value : value
        }

        if integral, !truncated {
            if !negative, mantissa <= UInt64(Int64.max) { return .int(Int64(mantissa)) }
            if negative, mantissa <= UInt64(Int64.max) &+ 1 { return .int(Int64(bitPattern: 0 &- mantissa)) }
        }
        // Clinger's fast path: both operands exact, so one IEEE operation rounds correctly.
        if !truncated, mantissa <= 1 << 53, exponent10 >= -22, exponent10 <= 22 {
            var value = Double(mantissa)
            value = exponent10 < 0 ? value / powersOfTen[-exponent10] : value * powersOfTen[exponent10]
            return .double(negative ? -value : value)
        }
        let text = String(decoding: UnsafeBufferPointer(start: base + start, count: pos &- start), as: UTF8.self)
        guard let value = Double(text) else { throw syntax(at: start, "unrepresentable number") }
        return .double(value)  // may be ±infinity for huge exponents; callers decide
    }

    @inline(__always)
    func isDigit(_ byte: UInt8) -> Bool { byte >= zero && byte <= nine }

    func syntax(at offset: Int, _ what: String) -> JSONParseError {
        JSONParseError(kind: .syntax, offset: offset, message: "\(what) at byte \(offset)")
    }

    /// A syntax error for whatever is at `pos` (or the end of input).
    func unexpected(_ context: String) -> JSONParseError {
        guard pos < end else {
            return JSONParseError(kind: .syntax, offset: pos, message: "unexpected end of input at byte \(pos) (\(context))")
        }
        let byte = base[pos]
        let shown: String
        switch byte {
        case 0x21...0x7E:
            shown = "'\(Unicode.Scalar(byte))'"
        case 0x80...:
            // The input is valid UTF-8, so the sequence starting here is complete.
            let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2
            shown = "'" + String(decoding: UnsafeBufferPointer(start: base + pos, count: length), as: UTF8.self) + "'"
        default:
            let hex = String(byte, radix: 16, uppercase: true)
            shown = byte < 0x10 ? "0x0" + hex : "0x" + hex
        }
        return JSONParseError(
            kind: .syntax, offset: pos, message: "unexpected character \(shown) at byte \(pos) (\(context))")
    }
}
