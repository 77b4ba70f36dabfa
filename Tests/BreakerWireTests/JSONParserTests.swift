import Testing

import BreakerWire

@Suite struct JSONParserTests {
    // MARK: Values

    @Test(arguments: [
        ("null", JSONValue.null),
        ("true", .bool(true)),
        ("false", .bool(false)),
        ("0", .int(0)),
        ("42", .int(42)),
        ("-17", .int(-17)),
        ("9223372036854775807", .int(.max)),
        ("-9223372036854775808", .int(.min)),
        ("9007199254740993", .int(9_007_199_254_740_993)),
        ("1.5", .double(1.5)),
        ("-0.25", .double(-0.25)),
        ("\"\"", .string("")),
        ("\"hi\"", .string("hi")),
        ("[]", .array([])),
        ("{}", .object(JSONObject())),
    ])
    func parsesEveryValueKind(text: String, expected: JSONValue) throws {
        #expect(try JSONParser.parse(text) == expected)
    }

    @Test func parsesSmallRequestObjectInKeyOrder() throws {
        let text = #"{"op":"should-attempt","breaker":"postgresql-primary","id":42}"#
        let value = try JSONParser.parse(text)
        #expect(value == .object(["op": .string("should-attempt"), "breaker": .string("postgresql-primary"), "id": .int(42)]))
        guard case .object(let object) = value else { return }
        #expect(object.fields.map(\.key) == ["op", "breaker", "id"])
        #expect(object["breaker"] == .string("postgresql-primary"))
        #expect(object["missing"] == nil)
    }

    @Test func parsesNestedContainers() throws {
        let text = #"{"a":[1,{"b":null,"c":[true,false]},"x"],"d":{}}"#
        #expect(try JSONParser.parse(text) == .object([
            "a": .array([.int(1), .object(["b": .null, "c": .array([.bool(true), .bool(false)])]), .string("x")]),
            "d": .object([:]),
        ]))
    }

    @Test func allowsTheFourWhitespaceCharactersAroundTokens() throws {
        let text = " \t\r\n{ \"a\" :\t[ 1 ,\r\n2 ] , \"b\":\"c\" }\n"
        #expect(try JSONParser.parse(text) == .object(["a": .array([.int(1), .int(2)]), "b": .string("c")]))
    }

    @Test func objectEqualityIsOrderSensitive() {
        let ab: JSONObject = ["a": .int(1), "b": .int(2)]
        let ba: JSONObject = ["b": .int(2), "a": .int(1)]
        #expect(ab != ba)
        #expect(JSONObject([("a", .int(1)), ("b", .int(2))]) == ab)
    }

    @Test func equalValuesHashEquallySoTheyWorkInSets() throws {
        let a = try JSONParser.parse(#"{"id":[1,"x",{"k":null}],"n":-0.0}"#)
        let b: JSONValue = .object(["id": .array([.int(1), .string("x"), .object(["k": .null])]), "n": .double(0.0)])
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(Set([a, b, .object(["n": .double(0.0)])]).count == 2)
    }

    // MARK: Numbers

    @Test(arguments: [
        "9223372036854775808", "-9223372036854775809", "18446744073709551616",
        "123456789012345678901234567890", "-99999999999999999999999",
    ])
    func integerOutsideInt64IsDouble(text: String) throws {
        #expect(try JSONParser.parse(text) == .double(Double(text)!))
    }

    @Test func negativeZeroIntegerIsIntZero() throws {
        #expect(try JSONParser.parse("-0") == .int(0))
    }

    @Test func negativeZeroFractionKeepsItsSign() throws {
        guard case .double(let d) = try JSONParser.parse("-0.0") else { Issue.record("not a double"); return }
        #expect(d == 0 && d.sign == .minus)
    }

    /// Every conversion must agree bit-for-bit with the standard library's correctly rounded parser.
    @Test(arguments: [
        "1e0", "1E2", "1e+2", "1e-2", "0e0", "0E-5", "-1.5e3", "12.34e-5", "1.0", "0.1", "0.30000000000000004",
        "5e-324", "2.2250738585072014e-308", "1.7976931348623157e308", "3.141592653589793238462643383279",
        "123456789012345678e-5", "0.000000000000000000000000000001", "9007199254740993.0", "1e22", "1e23",
        "4.35e-2", "100000000000000000000000.5", "0.00000000000000000000000000000000000000000000001234",
        "-2.5E-003", "1e0000000000000000000000001",
    ])
    func fractionsAndExponentsAreCorrectlyRoundedDoubles(text: String) throws {
        let expected = Double(text)!
        guard case .double(let d) = try JSONParser.parse(text) else { Issue.record("not a double"); return }
        #expect(d.bitPattern == expected.bitPattern)
    }

    @Test(arguments: [("1e999", Double.infinity), ("-1e999", -Double.infinity), ("1e-999", 0.0)])
    func outOfRangeExponentsSaturate(text: String, expected: Double) throws {
        #expect(try JSONParser.parse(text) == .double(expected))
    }

    @Test(arguments: [
        ("01", 0), ("-01", 1), ("00", 0), ("+1", 0), (".5", 0), ("1.", 2), ("1.e3", 2), ("-", 1), ("- 1", 1),
        ("1e", 2), ("1e+", 3), ("1E-x", 3), ("0x10", 1), ("1.5.2", 3), ("NaN", 0), ("nan", 1), ("Infinity", 0),
        ("-Infinity", 1), ("[01]", 1),
    ])
    func rejectsNumbersOutsideTheGrammar(text: String, offset: Int) {
        #expect(located(parseError(text)) == Located(kind: .syntax, offset: offset))
    }

    @Test func rejectsLeadingZero() {
        #expect(parseError("01") == JSONParseError(kind: .syntax, offset: 0, message: "leading zero in number at byte 0"))
    }

    // MARK: Strings

    @Test(arguments: [
        (#""\"\\\/\b\f\n\r\t""#, "\"\\/\u{8}\u{C}\n\r\t"),
        (#""\u0041\u00e9\u4E2D""#, "Aé中"),
        (#""\ud83d\ude00""#, "😀"),
        (#""\uDBFF\uDFFF""#, "\u{10FFFF}"),
        (#""a\u0000b""#, "a\u{0}b"),
        (#""prefix \" suffix""#, "prefix \" suffix"),
        ("\"héllo wörld 😀 中文\"", "héllo wörld 😀 中文"),
        ("\"\u{7F}\"", "\u{7F}"),
    ])
    func decodesEscapesAndRawUnicode(text: String, expected: String) throws {
        #expect(try JSONParser.parse(text) == .string(expected))
    }

    @Test(arguments: [
        ("\"a\nb\"", 2), ("\"a\u{0}b\"", 2), ("\"\t\"", 1), ("\"\u{1F}\"", 1), ("\"a\\\nb\"", 3),
    ])
    func rejectsRawControlCharactersInStrings(text: String, offset: Int) {
        #expect(located(parseError(text)) == Located(kind: .syntax, offset: offset))
    }

    @Test(arguments: [
        #""\ud800""#, #""\udc00""#, #""\ud800\u0041""#, #""\ud800x""#, #""\ud83d\ud83d""#, #""x\ude00""#,
        #""\ud800\""#,
    ])
    func rejectsLoneOrMismatchedSurrogateEscapes(text: String) {
        #expect(parseError(text)?.kind == .syntax)
    }

    @Test(arguments: [
        (#""\x""#, 2), (#""\u12G4""#, 5), (#""\u12""#, 5), (#""\'""#, 2), (#""abc"#, 4), (#""\"#, 2), (#""\""#, 3),
    ])
    func rejectsBadEscapesAndUnterminatedStrings(text: String, offset: Int) {
        #expect(located(parseError(text)) == Located(kind: .syntax, offset: offset))
    }

    // MARK: Structure

    @Test(arguments: [
        ("[1] x", 4), ("{}{}", 2), ("1 2", 2), ("\"a\"\"b\"", 3), ("null,", 4), ("[1,]", 3), ("[1 2]", 3),
        (#"{"a":1,}"#, 7), (#"{"a" 1}"#, 5), ("{a:1}", 1), (#"{"a":}"#, 5), ("[", 1), ("{", 1), ("]", 0),
        ("tru", 3), ("True", 0), ("nulll", 4), ("'a'", 0), ("[1}", 2), ("\u{FEFF}1", 0),
    ])
    func rejectsMalformedStructureAndTrailingContent(text: String, offset: Int) {
        #expect(located(parseError(text)) == Located(kind: .syntax, offset: offset))
    }

    @Test func syntaxErrorMessageNamesTheCharacterAndOffset() {
        #expect(parseError(#"{"a":[1,2], x}"#)?.message == "unexpected character 'x' at byte 12 (expected a string key)")
        #expect(parseError("[\n]x")?.message == "unexpected character 'x' at byte 3 (after the value)")
        #expect(parseError("[é]")?.message == "unexpected character 'é' at byte 1 (expected a value)")
        #expect(parseError("\"\u{1}\"")?.message == "unexpected character 0x01 at byte 1 (control character in string)")
        #expect(parseError("[1,")?.message == "unexpected end of input at byte 3 (expected a value)")
    }

    @Test(arguments: ["", " ", " \t\r\n "])
    func emptyOrWhitespaceOnlyInputIsEmpty(text: String) {
        #expect(parseError(text)?.kind == .empty)
    }

    @Test func emptyByteArrayIsEmpty() {
        #expect(parseError([UInt8]())?.kind == .empty)
    }

    @Test func trailingNewlineOfAnNDJSONLineIsAccepted() throws {
        #expect(try JSONParser.parse(#"{"id":1}"# + "\n") == .object(["id": .int(1)]))
    }

    // MARK: Entry points

    @Test func allEntryPointsAgree() throws {
        let text = #"{"op":"get","ids":[1,2.5,"é"]}"#
        let expected = try JSONParser.parse(text)
        #expect(try JSONParser.parse(Array(text.utf8)) == expected)
        let padded = Array(("xx" + text + "yy").utf8)
        let fromSlice = try padded.withUnsafeBytes { raw throws(JSONParseError) in
            try JSONParser.parse(UnsafeRawBufferPointer(rebasing: raw[2..<(raw.count - 2)]))
        }
        #expect(fromSlice == expected)
    }
}
