import BreakerCore
import BreakerTestSupport
import BreakerWire
import Testing

/// The hot-op fast path must never disagree with the general decoder: whenever it answers, the
/// general path gives the same `Request`; everything else (errors included) is left to the
/// general path, so error codes cannot differ.
@Suite struct HotRequestDecoderTests {
    private func hot(_ line: String) -> Request? {
        var line = line
        return line.withUTF8 { HotRequestDecoder.decode(UnsafeRawBufferPointer($0)) }
    }

    private func general(_ line: String) -> Result<Request, RequestError> { RequestDecoder.decode(line) }

    private func agree(_ line: String, sourceLocation: SourceLocation = #_sourceLocation) {
        if let fast = hot(line) {
            #expect(general(line) == .success(fast), "\(line)", sourceLocation: sourceLocation)
        }
    }

    static let accepted: [String] = [
        #"{"op":"should-attempt","breaker":"db"}"#,
        #"{"breaker":"a/b:c.d_e-f","op":"should-attempt"}"#,
        #"{"op":"should-attempt","breaker":"db","id":7}"#,
        #"{"id":-12,"op":"should-attempt","breaker":"db"}"#,
        #"{"id":0,"op":"should-attempt","breaker":"db"}"#,
        #"{"id":"req 1/x","op":"should-attempt","breaker":"db"}"#,
        #"{"id":"","op":"should-attempt","breaker":"db"}"#,
        #"{"op":"record-success","breaker":"db"}"#,
        #"{"op":"record-failure","breaker":"db","generation":0}"#,
        #"{"op":"record-failure","breaker":"db","generation":123456789012345678}"#,
        #"{"op":"record-success","breaker":"db","count":3,"generation":9,"id":"x"}"#,
        #"{"op":"record-success","breaker":"db","count":1000000}"#,
        "{\"op\":\"record-failure\",\"breaker\":\"\(String(repeating: "n", count: 200))\"}",
    ]

    /// Lines the fast path must refuse (the general path answers them, often with an error).
    static let refused: [String] = [
        #"{"op":"ping"}"#,
        #"{"op":"inspect","breaker":"db"}"#,
        #"{"op":"should-attempt"}"#,
        #"{"breaker":"db"}"#,
        #"{ "op":"should-attempt","breaker":"db"}"#,
        #"{"op":"should-attempt","breaker":"db"} "#,
        #"{"op":"should-attempt","breaker":"db",}"#,
        #"{"op":"should-attempt","op":"should-attempt","breaker":"db"}"#,
        #"{"op":"should-attempt","breaker":"db","breaker":"db"}"#,
        #"{"op":"should-attempt","breaker":"d\u0062"}"#,
        #"{"op":"should-attempt","breaker":"d b"}"#,
        #"{"op":"should-attempt","breaker":""}"#,
        "{\"op\":\"should-attempt\",\"breaker\":\"\(String(repeating: "n", count: 201))\"}",
        #"{"op":"should-attempt","breaker":"db","count":2}"#,
        #"{"op":"should-attempt","breaker":"db","generation":2}"#,
        #"{"op":"should-attempt","breaker":"db","extra":1}"#,
        #"{"op":"record-success","breaker":"db","count":0}"#,
        #"{"op":"record-success","breaker":"db","count":1000001}"#,
        #"{"op":"record-success","breaker":"db","count":01}"#,
        #"{"op":"record-success","breaker":"db","count":1.0}"#,
        #"{"op":"record-success","breaker":"db","count":1e0}"#,
        #"{"op":"record-success","breaker":"db","count":"1"}"#,
        #"{"op":"record-success","breaker":"db","generation":-1}"#,
        #"{"op":"record-success","breaker":"db","generation":1234567890123456789}"#,
        #"{"op":"record-success","breaker":"db","generation":123456789012345678901234567890}"#,
        #"{"id":99999999999999999999,"op":"should-attempt","breaker":"db"}"#,
        #"{"op":"record-success","breaker":"db","permit":"e.1.0"}"#,
        #"{"op":"should-attempt","breaker":"db","id":-0}"#,
        #"{"op":"should-attempt","breaker":"db","id":1.5}"#,
        #"{"op":"should-attempt","breaker":"db","id":null}"#,
        #"{"op":"should-attempt","breaker":"db","id":"a\"b"}"#,
        #"{"op":"Should-attempt","breaker":"db"}"#,
        #"{"op":"should-attempt","breaker":"db"}x"#,
        #"{"op":"should-attempt","breaker":"db""#,
        #"{"op":"should-attempt","breaker":"db"]"#,
        #"["op","should-attempt"]"#,
        #"{}"#,
        #"{"#,
        "",
    ]

    @Test(arguments: accepted)
    func acceptsTheCanonicalHotLinesWithTheGeneralPathsResult(_ line: String) throws {
        let fast = try #require(hot(line), "\(line)")
        #expect(general(line) == .success(fast))
    }

    @Test(arguments: refused)
    func leavesEverythingElseToTheGeneralPath(_ line: String) {
        #expect(hot(line) == nil, "\(line)")
    }

    /// Random single-byte edits, insertions and deletions of the accepted lines, from a fixed
    /// seed (a failure names its line and reproduces): whenever the fast path answers, the general
    /// path must give the same request; whenever it refuses a line the general path reads as a hot
    /// op, the canonical spelling of that request must be one it accepts, with the same result —
    /// so it refuses only spellings, never requests.
    @Test func agreesWithTheGeneralPathOnMutatedLines() {
        var rng = SplitMix64(seed: 0x6272_6561_6b65_7264)
        let alphabet = Array(#"{}[]":,\ -0123456789abcdefgiknoprstuwyx.e"#.utf8) + [0x00, 0x7F, 0xC3, 0xA9]
        var (answered, refusedHot) = (0, 0)
        for base in Self.accepted {
            for _ in 0..<3_000 {
                var bytes = Array(base.utf8)
                for _ in 0..<Int.random(in: 1...3, using: &rng) {
                    let at = Int.random(in: 0...bytes.count, using: &rng)
                    switch Int.random(in: 0..<3, using: &rng) {
                    case 0 where at < bytes.count: bytes[at] = alphabet.randomElement(using: &rng)!
                    case 1 where at < bytes.count: bytes.remove(at: at)
                    default: bytes.insert(alphabet.randomElement(using: &rng)!, at: at)
                    }
                }
                let line = String(decoding: bytes, as: UTF8.self)
                let slow = bytes.withUnsafeBytes { RequestDecoder.decode($0) }
                if let fast = bytes.withUnsafeBytes({ HotRequestDecoder.decode($0) }) {
                    answered += 1
                    #expect(slow == .success(fast), "\(line)")
                } else if case .success(let request) = slow, let canonical = Self.canonicalHotLine(request) {
                    refusedHot += 1
                    #expect(hot(canonical) == request, "\(line) → \(canonical)")
                }
            }
        }
        #expect(answered > 1_000)
        #expect(refusedHot > 100)
    }

    /// The request as a client writes it (`RequestEncoder`), when it is a hot op the subset
    /// covers (an integer id of at most 18 digits or none; a generation of at most 18 digits; no
    /// permit, duration or dedupe): nil otherwise.
    static func canonicalHotLine(_ request: Request) -> String? {
        let eighteenDigits: Int64 = 999_999_999_999_999_999
        switch request.command {
        case .shouldAttempt: break
        case .record(let record) where record.permit == nil && record.durationMs == nil && record.dedupe == nil
            && (record.generation ?? 0) <= UInt64(eighteenDigits): break
        default: return nil
        }
        switch request.id {
        case nil: break
        case .int(let id)? where (-eighteenDigits...eighteenDigits).contains(id): break
        default: return nil
        }
        return String(decoding: RequestEncoder.encode(request).dropLast(), as: UTF8.self)
    }

    @Test func agreesOnEveryRefusedAndAcceptedLine() {
        for line in Self.accepted + Self.refused { agree(line) }
    }
}
