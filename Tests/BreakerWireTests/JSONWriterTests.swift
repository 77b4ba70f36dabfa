import Testing

import BreakerWire

private func text(_ writer: JSONWriter) -> String { String(decoding: writer.bytes, as: UTF8.self) }

private func written(_ value: JSONValue) -> String {
    var writer = JSONWriter()
    writer.value(value)
    return text(writer)
}

@Suite struct JSONWriterTests {
    @Test func writesEmptyContainers() {
        var writer = JSONWriter()
        writer.beginArray()
        writer.beginObject(); writer.endObject()
        writer.beginArray(); writer.endArray()
        writer.endArray()
        #expect(text(writer) == "[{},[]]")
    }

    @Test func insertsCommasBetweenFieldsAndElements() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("op", "should-attempt")
        writer.field("id", Int64(42))
        writer.field("n", -7)
        writer.field("ok", true)
        writer.field("ratio", 0.5)
        writer.key("list")
        writer.beginArray()
        writer.int(1); writer.null(); writer.bool(false)
        writer.beginObject(); writer.field("x", .array([.string("y")])); writer.endObject()
        writer.string("z")
        writer.endArray()
        writer.key("after"); writer.null()
        writer.endObject()
        #expect(text(writer)
            == #"{"op":"should-attempt","id":42,"n":-7,"ok":true,"ratio":0.5,"list":[1,null,false,{"x":["y"]},"z"],"after":null}"#)
    }

    @Test(arguments: [
        ("plain", #""plain""#),
        ("a\"b", #""a\"b""#),
        ("back\\slash", #""back\\slash""#),
        ("\n\r\t\u{8}\u{C}", #""\n\r\t\b\f""#),
        ("\u{0}\u{1}\u{1F}", #""\u0000\u0001\u001f""#),
        ("\u{7F}/<>", "\"\u{7F}/<>\""),
        ("héllo 中文 😀", "\"héllo 中文 😀\""),
        ("", #""""#),
    ])
    func escapesOnlyQuotesBackslashesAndControlCharacters(value: String, expected: String) {
        var writer = JSONWriter()
        writer.string(value)
        #expect(text(writer) == expected)
    }

    @Test func escapesKeysToo() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.field("a\"\n", 1)
        writer.endObject()
        #expect(text(writer) == #"{"a\"\n":1}"#)
    }

    @Test(arguments: [
        (Int64(0), "0"), (7, "7"), (-1, "-1"), (10, "10"), (-100, "-100"), (1_234_567_890, "1234567890"),
        (.max, "9223372036854775807"), (.min, "-9223372036854775808"),
    ] as [(Int64, String)])
    func writesIntegersWithoutFoundation(value: Int64, expected: String) {
        var writer = JSONWriter()
        writer.int(value)
        #expect(text(writer) == expected)
        var intWriter = JSONWriter()
        intWriter.int(Int(value))
        #expect(text(intWriter) == expected)
    }

    @Test(arguments: [
        (2.0, "2.0"), (1.5, "1.5"), (-0.0, "-0.0"), (1e20, "1e+20"), (0.1, "0.1"), (.leastNonzeroMagnitude, "5e-324"),
    ] as [(Double, String)])
    func writesDoublesInShortestRoundTripForm(value: Double, expected: String) {
        var writer = JSONWriter()
        writer.double(value)
        #expect(text(writer) == expected)
    }

    static let roundTripValues: [JSONValue] = [
        .null, .bool(true), .bool(false), .int(0), .int(-0), .int(.max), .int(.min),
        .double(0.5), .double(-2.0), .double(1e300), .double(-1.25e-300), .double(.greatestFiniteMagnitude),
        .double(.leastNonzeroMagnitude), .double(0.1 + 0.2),
        .string(""), .string("plain ascii"), .string("quote \" backslash \\ slash /"),
        .string("\u{0}\u{1}\u{8}\u{9}\u{A}\u{B}\u{C}\u{D}\u{1E}\u{1F}\u{7F}"),
        .string("unicode: é ß 中文 \u{10FFFF} \u{FEFF}"), .string("emoji: 😀👍🏽👨‍👩‍👧"),
        .array([]), .object([:]),
        .array([.int(1), .double(2.5), .string("3"), .null, .array([.bool(true)])]),
        .object([
            "op": .string("should-attempt"), "breaker": .string("postgresql-primary"), "id": .int(42),
            "nested": .object(["k\"ey\n": .array([.object([:]), .int(.min)])]), "😀": .string("✓"),
        ]),
    ]

    @Test(arguments: roundTripValues)
    func writeThenParseGivesTheSameValue(value: JSONValue) throws {
        var writer = JSONWriter()
        writer.value(value)
        #expect(try JSONParser.parse(writer.bytes) == value)
    }

    @Test func negativeZeroDoubleRoundTripsWithItsSign() throws {
        guard case .double(let d) = try JSONParser.parse(written(.double(-0.0))) else {
            Issue.record("not a double")
            return
        }
        #expect(d.sign == .minus)
    }

    @Test func handlesNestingDeeperThanTheInlineFlagSet() throws {
        var value = JSONValue.array([.int(1), .int(2)])
        for level in 0..<100 {
            value = level.isMultiple(of: 2) ? .array([.int(0), value, .int(3)]) : .object(["a": value, "b": .null])
        }
        var writer = JSONWriter()
        writer.value(value)
        writer.value(.null)  // a second top-level value gets no comma
        let output = text(writer)
        #expect(output.hasSuffix("null"))
        let document = Array(writer.bytes.dropLast(4))
        #expect(try JSONParser.parse(document, maxDepth: 200) == value)
        #expect(output.hasPrefix(#"{"a":[0,{"a":[0,"#))
    }

    @Test func resetClearsOutputAndState() {
        var writer = JSONWriter(capacity: 8)
        writer.beginObject()
        writer.beginArray()
        writer.int(1)
        writer.reset()
        writer.beginArray()
        writer.int(2)
        writer.endArray()
        #expect(text(writer) == "[2]")
    }
}
