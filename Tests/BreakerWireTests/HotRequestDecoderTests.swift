import BreakerCore
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

    /// Random single-byte edits, insertions and deletions of the accepted lines: whenever the fast
    /// path still answers, the general path must give the same request.
    @Test func agreesWithTheGeneralPathOnMutatedLines() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array(#"{}[]":,\ -0123456789abcdefgiknoprstuwyx.e"#.utf8) + [0x00, 0x7F, 0xC3, 0xA9]
        var answered = 0
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
                let fast = bytes.withUnsafeBytes { HotRequestDecoder.decode($0) }
                if let fast {
                    answered += 1
                    let slow = bytes.withUnsafeBytes { RequestDecoder.decode($0) }
                    #expect(slow == .success(fast), "\(String(decoding: bytes, as: UTF8.self))")
                }
            }
        }
        #expect(answered > 0)
    }

    @Test func agreesOnEveryRefusedAndAcceptedLine() {
        for line in Self.accepted + Self.refused { agree(line) }
    }
}
