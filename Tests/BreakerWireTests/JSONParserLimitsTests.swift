import Testing

import BreakerWire

/// The parser's limits on what it reads: valid UTF-8 only, a bounded depth, no duplicate keys.
@Suite struct JSONParserLimitsTests {
    // MARK: UTF-8

    @Test(arguments: [
        quoted([0xFF]), quoted([0x80]), quoted([0xBF]),  // stray bytes / lone continuation
        quoted([0xC0, 0xAF]), quoted([0xC1, 0xBF]), quoted([0xE0, 0x80, 0xAF]), quoted([0xE0, 0x9F, 0xBF]),
        quoted([0xF0, 0x80, 0x80, 0xAF]), quoted([0xF0, 0x8F, 0xBF, 0xBF]),  // overlong
        quoted([0xED, 0xA0, 0x80]), quoted([0xED, 0xBF, 0xBF]),  // encoded surrogates
        quoted([0xF4, 0x90, 0x80, 0x80]), quoted([0xF5, 0x80, 0x80, 0x80]), quoted([0xF8, 0x88, 0x80, 0x80, 0x80]),
        quoted([0xE2, 0x82]), quoted([0xC3]), quoted([0xF0, 0x9F, 0x98]),  // truncated before the quote
        [0x22, 0xE2, 0x82], [0x22, 0xC3],  // truncated at end of input
        [0x5B, 0xFF, 0x5D], [0x5B, 0xC3, 0x28, 0x5D],  // outside strings
    ] as [[UInt8]])
    func rejectsInvalidUTF8AnywhereAtTheBadSequence(bytes: [UInt8]) {
        #expect(located(parseError(bytes)) == Located(kind: .invalidUTF8, offset: 1))
    }

    @Test func invalidUTF8TakesPrecedenceOverEarlierSyntaxError() {
        #expect(parseError([0x78, 0x20, 0xFF])?.kind == .invalidUTF8)
    }

    @Test(arguments: [
        ([0xED, 0x9F, 0xBF], "\u{D7FF}"), ([0xEE, 0x80, 0x80], "\u{E000}"), ([0xF4, 0x8F, 0xBF, 0xBF], "\u{10FFFF}"),
        ([0xC2, 0x80], "\u{80}"), ([0xE0, 0xA0, 0x80], "\u{800}"), ([0xF0, 0x90, 0x80, 0x80], "\u{10000}"),
    ] as [([UInt8], String)])
    func acceptsBoundaryScalars(bytes: [UInt8], expected: String) throws {
        #expect(try JSONParser.parse(quoted(bytes)) == .string(expected))
    }

    // MARK: Depth

    @Test func deepArrayNestingIsTooDeepNotACrash() {
        let text = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(parseError(text) == JSONParseError(kind: .tooDeep, offset: 32, message: "nesting deeper than 32 levels"))
        #expect(parseError(String(repeating: "[", count: 10_000))?.kind == .tooDeep)
    }

    @Test func deepObjectNestingIsTooDeepNotACrash() {
        let text = String(repeating: #"{"a":"#, count: 10_000) + "1" + String(repeating: "}", count: 10_000)
        #expect(located(parseError(text)) == Located(kind: .tooDeep, offset: 5 * 32))
    }

    @Test func nestingExactlyAtMaxDepthIsAccepted() throws {
        var expected = JSONValue.int(1)
        for _ in 0..<32 { expected = .array([expected]) }
        let text = String(repeating: "[", count: 32) + "1" + String(repeating: "]", count: 32)
        #expect(try JSONParser.parse(text) == expected)
        #expect(parseError("[" + text + "]")?.kind == .tooDeep)
    }

    @Test func customMaxDepthIsHonoured() throws {
        #expect(located(parseError("[[1]]", maxDepth: 1)) == Located(kind: .tooDeep, offset: 1))
        #expect(parseError("[]", maxDepth: 0)?.kind == .tooDeep)
        #expect(try JSONParser.parse("7", maxDepth: 0) == .int(7))
        #expect(try JSONParser.parse("[[1]]", maxDepth: 2) == .array([.array([.int(1)])]))
    }

    // MARK: Duplicate keys

    @Test func duplicateKeyIsRejectedWithItsName() {
        #expect(parseError(#"{"op":1,"op":2}"#)
            == JSONParseError(kind: .duplicateKey("op"), offset: 8, message: "duplicate key \"op\""))
    }

    @Test func duplicateKeySpelledWithAnEscapeIsStillADuplicate() {
        #expect(parseError(#"{"a":1,"\u0061":2}"#)?.kind == .duplicateKey("a"))
    }

    @Test func duplicateKeyIsFoundInLargeObjects() throws {
        let fields = (0..<40).map { "\"k\($0)\":\($0)" }
        #expect(try JSONParser.parse("{" + fields.joined(separator: ",") + "}")
            == .object(JSONObject((0..<40).map { (key: "k\($0)", value: .int(Int64($0))) })))
        #expect(parseError("{" + fields.joined(separator: ",") + #","k3":0}"#)?.kind == .duplicateKey("k3"))
    }

    @Test func sameKeyInDifferentObjectsIsAllowed() throws {
        #expect(try JSONParser.parse(#"{"a":{"a":1},"b":{"a":2}}"#)
            == .object(["a": .object(["a": .int(1)]), "b": .object(["a": .int(2)])]))
    }
}
