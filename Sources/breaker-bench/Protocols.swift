/// Request encoding and reply framing for both targets. Both sides get the same treatment: one
/// request is appended to an outbound byte buffer, one reply is recognised and classified
/// without building any object.

enum ReplyClass {
    case ok
    case error
    case unexpected
}

/// A breaker name `<prefix><index>` written as bytes: no String per request.
@inline(__always)
func appendName(_ prefix: [UInt8], _ index: Int, to out: inout [UInt8]) {
    out.append(contentsOf: prefix)
    appendDecimal(index, to: &out)
}

@inline(__always)
func decimalLength(_ n: Int) -> Int {
    var n = n, len = 1
    while n >= 10 { n /= 10; len += 1 }
    return len
}

@inline(__always)
func appendDecimal(_ n: Int, to out: inout [UInt8]) {
    let len = decimalLength(n)
    let start = out.count
    out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: len))
    var n = n, i = start + len - 1
    repeat {
        out[i] = UInt8(ascii: "0") + UInt8(n % 10)
        n /= 10
        i -= 1
    } while n > 0
}

enum BreakerdCodec {
    static let heads: [[UInt8]] = BenchOp.allCases.map { Array("{\"op\":\"\($0.wireName)\",\"breaker\":\"".utf8) }
    static let tail: [UInt8] = Array("\"}\n".utf8)
    static let okPrefix: [UInt8] = Array("{\"ok\":true".utf8)
    static let errorPrefix: [UInt8] = Array("{\"ok\":false".utf8)

    @inline(__always)
    static func append(_ op: BenchOp, prefix: [UInt8], index: Int, to out: inout [UInt8]) {
        out.append(contentsOf: heads[op.rawValue])
        appendName(prefix, index, to: &out)
        out.append(contentsOf: tail)
    }

    /// One reply line in `buf[from..<end]`: its class and the index after it, or nil if incomplete.
    @inline(__always)
    static func scan(_ buf: UnsafeRawBufferPointer, from: Int) -> (ReplyClass, Int)? {
        guard let nl = memchrIndex(buf, from: from, UInt8(ascii: "\n")) else { return nil }
        let line = UnsafeRawBufferPointer(rebasing: buf[from..<nl])
        let cls: ReplyClass
        if hasPrefix(line, okPrefix) {
            cls = .ok
        } else if hasPrefix(line, errorPrefix) {
            cls = .error
        } else {
            cls = .unexpected
        }
        return (cls, nl + 1)
    }
}

enum RedisCodec {
    static let heads: [[UInt8]] = [
        Array("*2\r\n$3\r\nGET\r\n$".utf8),
        Array("*3\r\n$3\r\nSET\r\n$".utf8),
        Array("*2\r\n$4\r\nINCR\r\n$".utf8),
    ]
    static let crlf: [UInt8] = [13, 10]
    static let setValue: [UInt8] = Array("$1\r\n0\r\n".utf8)

    @inline(__always)
    static func append(_ op: BenchOp, prefix: [UInt8], index: Int, to out: inout [UInt8]) {
        out.append(contentsOf: heads[op.rawValue])
        appendDecimal(prefix.count + decimalLength(index), to: &out)
        out.append(contentsOf: crlf)
        appendName(prefix, index, to: &out)
        out.append(contentsOf: crlf)
        if op == .recordSuccess { out.append(contentsOf: setValue) }
    }

    /// One RESP2 reply (simple string, error, integer, bulk string) in `buf[from...]`.
    @inline(__always)
    static func scan(_ buf: UnsafeRawBufferPointer, from: Int) -> (ReplyClass, Int)? {
        guard from < buf.count, let nl = memchrIndex(buf, from: from, 10) else { return nil }
        switch buf[from] {
        case UInt8(ascii: "+"), UInt8(ascii: ":"):
            return (.ok, nl + 1)
        case UInt8(ascii: "-"):
            return (.error, nl + 1)
        case UInt8(ascii: "$"):
            var i = from + 1, negative = false, n = 0
            if buf[i] == UInt8(ascii: "-") { negative = true; i += 1 }
            while i < nl, buf[i] >= 48, buf[i] <= 57 { n = n * 10 + Int(buf[i] - 48); i += 1 }
            if negative { return (.ok, nl + 1) }  // $-1: nil, a GET of a key never failed
            let end = nl + 1 + n + 2
            guard end <= buf.count else { return nil }
            return (.ok, end)
        default:
            return (.unexpected, nl + 1)
        }
    }
}

@inline(__always)
func memchrIndex(_ buf: UnsafeRawBufferPointer, from: Int, _ byte: UInt8) -> Int? {
    guard from < buf.count, let base = buf.baseAddress else { return nil }
    guard let p = memchr(base + from, Int32(byte), buf.count - from) else { return nil }
    return UnsafeRawPointer(p) - base
}

@inline(__always)
func hasPrefix(_ line: UnsafeRawBufferPointer, _ prefix: [UInt8]) -> Bool {
    guard line.count >= prefix.count else { return false }
    for i in 0..<prefix.count where line[i] != prefix[i] { return false }
    return true
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
