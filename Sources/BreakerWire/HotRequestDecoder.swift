/// A fast path for the hot ops (`should-attempt`, `record-success`, `record-failure`): scans the
/// line once, builds no `JSONValue` tree, and allocates only the name (and a string `id`).
///
/// It accepts a deliberately narrow, canonical subset and returns `nil` for anything else, which
/// the caller then hands to `RequestDecoder.decode`. Inside the subset the result is the very
/// `Request` the general path builds; outside it the general path decides, so errors and their
/// codes are always the general path's (tests feed the same lines through both and compare).
///
/// The subset: `{`, then `"key":value` pairs separated by `,`, then `}` and nothing more; no
/// whitespace, no escapes, no duplicate keys; keys only `op`, `breaker`, `id`, and for records
/// `count` and `generation`; `op` one of the three hot ops; `breaker` 1–200 bytes of the name
/// alphabet; `id` a plain integer (at most 18 digits) or a string of printable ASCII without
/// `"` or `\`; `count` 1–1,000,000; `generation` a non-negative integer of at most 18 digits.
public enum HotRequestDecoder {
    /// The very `Request` the general decoder builds for this line, or nil when the line is
    /// outside the subset (the caller then asks `RequestDecoder`).
    public static func decode(_ line: UnsafeRawBufferPointer) -> Request? {
        let n = line.count
        guard n >= 2, line[0] == UInt8(ascii: "{"), line[n - 1] == UInt8(ascii: "}") else { return nil }
        var i = 1
        var op: Op?
        var name: UnsafeRawBufferPointer?
        var id: JSONValue?
        var count: Int64?
        var generation: Int64?
        while true {
            // "key":
            guard i < n, line[i] == quote else { return nil }
            let keyStart = i + 1
            var j = keyStart
            while j < n, line[j] != quote {
                guard line[j] >= 0x20, line[j] < 0x7F, line[j] != backslash else { return nil }
                j += 1
            }
            guard j + 1 < n, line[j + 1] == UInt8(ascii: ":") else { return nil }
            let key = UnsafeRawBufferPointer(rebasing: line[keyStart..<j])
            i = j + 2
            guard i < n else { return nil }
            switch key.count {
            case 2 where key[0] == UInt8(ascii: "o") && key[1] == UInt8(ascii: "p"):
                guard op == nil, let (value, next) = plainString(line, i) else { return nil }
                op = hotOps.first { equals(value, $0.name) }?.op
                guard op != nil else { return nil }
                i = next
            case 7 where equals(key, breakerKey):
                guard name == nil, let (value, next) = plainString(line, i),
                      value.count >= 1, value.count <= BreakerName.maxLength,
                      value.allSatisfy(BreakerName.isAllowed) else { return nil }
                name = value
                i = next
            case 2 where key[0] == UInt8(ascii: "i") && key[1] == UInt8(ascii: "d"):
                guard id == nil else { return nil }
                if line[i] == quote {
                    guard let (value, next) = plainString(line, i) else { return nil }
                    id = .string(String(decoding: value, as: UTF8.self))
                    i = next
                } else {
                    guard let (value, next) = integer(line, i, allowNegative: true) else { return nil }
                    id = .int(value)
                    i = next
                }
            case 5 where equals(key, countKey):
                guard count == nil, let (value, next) = integer(line, i, allowNegative: false),
                      value >= 1, value <= Int64(RecordCommand.maxCount) else { return nil }
                count = value
                i = next
            case 10 where equals(key, generationKey):
                guard generation == nil, let (value, next) = integer(line, i, allowNegative: false) else { return nil }
                generation = value
                i = next
            default:
                return nil
            }
            guard i < n else { return nil }
            if line[i] == UInt8(ascii: "}") {
                guard i == n - 1 else { return nil }
                break
            }
            guard line[i] == UInt8(ascii: ","), i + 1 < n else { return nil }
            i += 1
        }
        guard let name else { return nil }
        let breaker = String(decoding: name, as: UTF8.self)
        switch op {
        case .shouldAttempt:
            // count/generation are unknown fields to should-attempt; leave that case to the general path.
            guard count == nil, generation == nil else { return nil }
            return Request(id: id, command: .shouldAttempt(breaker: breaker))
        case .recordSuccess, .recordFailure:
            return Request(id: id, command: .record(RecordCommand(
                breaker: breaker, outcome: op == .recordSuccess ? .success : .failure, count: Int(count ?? 1),
                generation: generation.map { UInt64($0) })))
        default:
            return nil
        }
    }

    private static let quote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")
    /// The ops of the subset, with their names as bytes (from `Op`, spelled nowhere else).
    private static let hotOps: [(op: Op, name: [UInt8])] =
        [Op.shouldAttempt, .recordSuccess, .recordFailure].map { ($0, Array($0.rawValue.utf8)) }
    private static let breakerKey = Array("breaker".utf8)
    private static let countKey = Array("count".utf8)
    private static let generationKey = Array("generation".utf8)

    @inline(__always)
    private static func equals(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        for k in 0..<b.count where a[k] != b[k] { return false }
        return true
    }

    /// `"…"` of printable ASCII without `"` or `\` starting at `i`: its contents and the index after it.
    @inline(__always)
    private static func plainString(_ line: UnsafeRawBufferPointer, _ i: Int) -> (UnsafeRawBufferPointer, Int)? {
        guard line[i] == quote else { return nil }
        var j = i + 1
        while j < line.count, line[j] != quote {
            guard line[j] >= 0x20, line[j] < 0x7F, line[j] != backslash else { return nil }
            j += 1
        }
        guard j < line.count else { return nil }
        return (UnsafeRawBufferPointer(rebasing: line[(i + 1)..<j]), j + 1)
    }

    /// A JSON integer without sign oddities: `0` or a non-zero digit then digits (at most 18),
    /// optionally after `-` (not `-0`), ended by `,` or `}`.
    @inline(__always)
    private static func integer(_ line: UnsafeRawBufferPointer, _ i: Int, allowNegative: Bool) -> (Int64, Int)? {
        var j = i
        var negative = false
        if line[j] == UInt8(ascii: "-") {
            guard allowNegative else { return nil }
            negative = true
            j += 1
        }
        let digitsStart = j
        var value: Int64 = 0
        while j < line.count, line[j] >= UInt8(ascii: "0"), line[j] <= UInt8(ascii: "9") {
            guard j - digitsStart < 18 else { return nil }  // more than 18 digits: not ours (no overflow)
            value = value * 10 + Int64(line[j] - UInt8(ascii: "0"))
            j += 1
        }
        let digits = j - digitsStart
        guard digits >= 1, digits <= 18, j < line.count,
              line[j] == UInt8(ascii: ",") || line[j] == UInt8(ascii: "}") else { return nil }
        if digits > 1 && line[digitsStart] == UInt8(ascii: "0") { return nil }
        if negative && value == 0 { return nil }
        return (negative ? -value : value, j)
    }
}
