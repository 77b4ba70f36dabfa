/// Spans of time as breakerd's settings write them: `500ms`, `2s`, `1m`, `1h`, or a bare number
/// of milliseconds; always read into and shown from whole milliseconds.
enum DurationText {
    private static let units: [(suffix: String, milliseconds: Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]

    /// The milliseconds `text` stands for; nil when it is not a duration.
    static func milliseconds(_ text: String) -> Int64? {
        for unit in units where text.hasSuffix(unit.suffix) {
            guard let number = Int64(text.dropLast(unit.suffix.count)), number >= 0,
                  number <= Int64.max / unit.milliseconds else { return nil }
            return number * unit.milliseconds
        }
        return Int64(text).flatMap { $0 >= 0 ? $0 : nil }
    }

    /// The shortest exact form: `2000` → `2s`, `1500` → `1500ms`.
    static func format(_ milliseconds: Int64) -> String {
        for unit in units.reversed() where milliseconds > 0 && milliseconds % unit.milliseconds == 0 {
            return "\(milliseconds / unit.milliseconds)\(unit.suffix)"
        }
        return "\(milliseconds)ms"
    }
}
