/// The rules for breaker names: 1–200 bytes of `[A-Za-z0-9._:/-]`.
///
/// Names are checked before they reach storage, logs or metric labels, so none of those ever
/// has to escape or guard against them.
public enum BreakerName {
    public static let maxLength = 200

    /// Throws `invalid_name` unless `name` follows the rules.
    public static func validate(_ name: String) throws(WireError) {
        guard !name.isEmpty else { throw WireError(.invalidName, "breaker name must not be empty") }
        var length = 0
        for byte in name.utf8 {
            length += 1
            guard isAllowed(byte) else {
                throw WireError(.invalidName, "breaker name may contain only A-Z a-z 0-9 . _ : / - (found \(describe(byte)))")
            }
        }
        guard length <= maxLength else {
            throw WireError(.invalidName, "breaker name is \(length) bytes; the limit is \(maxLength)")
        }
    }

    /// Throws `bad_request` unless `prefix` could start a valid name (it may be empty).
    public static func validatePrefix(_ prefix: String) throws(WireError) {
        guard prefix.utf8.count <= maxLength, prefix.utf8.allSatisfy(isAllowed) else {
            throw WireError(.badRequest, "prefix must be at most \(maxLength) bytes of A-Z a-z 0-9 . _ : / -")
        }
    }

    @inline(__always)
    static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: ":"), UInt8(ascii: "/"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    private static func describe(_ byte: UInt8) -> String {
        (0x21...0x7E).contains(byte) ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16, uppercase: true))"
    }
}
