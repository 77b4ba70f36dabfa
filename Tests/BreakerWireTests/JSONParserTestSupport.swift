import BreakerWire

/// The error thrown for `input`, or nil if it parsed.
func parseError(_ input: String, maxDepth: Int = JSONParser.defaultMaxDepth) -> JSONParseError? {
    do {
        _ = try JSONParser.parse(input, maxDepth: maxDepth)
        return nil
    } catch {
        return error
    }
}

func parseError(_ bytes: [UInt8]) -> JSONParseError? {
    do {
        _ = try JSONParser.parse(bytes)
        return nil
    } catch {
        return error
    }
}

/// Kind and offset of a parse failure, for compact table-driven expectations.
struct Located: Equatable {
    var kind: JSONParseError.Kind
    var offset: Int
}

func located(_ error: JSONParseError?) -> Located? { error.map { Located(kind: $0.kind, offset: $0.offset) } }

/// `"` + bytes + `"`: a string token with arbitrary content bytes.
func quoted(_ bytes: [UInt8]) -> [UInt8] { [0x22] + bytes + [0x22] }
