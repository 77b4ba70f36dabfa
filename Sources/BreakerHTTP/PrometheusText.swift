/// Writes the Prometheus text exposition format (version 0.0.4) by hand, for series whose value
/// is read from the registry at scrape time. swift-prometheus can only increment a counter, and
/// a counter that is re-incremented by the cumulative total on every scrape (as the seed's
/// sketch did) grows without traffic; rendering the registry's own monotonic counts is exact.
struct PrometheusText {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 4096) {
        bytes.reserveCapacity(capacity)
    }

    /// The `# HELP` and `# TYPE` lines that start a metric family.
    mutating func family(_ name: String, type: String, help: String) {
        append("# HELP ")
        append(name)
        append(" ")
        for byte in help.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\n"): append("\\n")
            default: bytes.append(byte)
            }
        }
        append("\n# TYPE ")
        append(name)
        append(" ")
        append(type)
        append("\n")
    }

    /// One sample line: `name{label="value",…} value`. Label names are fixed by the caller and
    /// must be valid; label values are escaped (`\\`, `\"`, `\n`) as the format requires.
    mutating func sample(_ name: String, _ labels: [(String, String)], _ value: UInt64) {
        append(name)
        if !labels.isEmpty {
            append("{")
            for (index, (label, value)) in labels.enumerated() {
                if index > 0 { append(",") }
                append(label)
                append("=\"")
                appendEscapedLabelValue(value)
                append("\"")
            }
            append("}")
        }
        append(" ")
        append(String(value))
        append("\n")
    }

    mutating func append(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    mutating func append(bytes more: [UInt8]) {
        bytes.append(contentsOf: more)
    }

    private mutating func appendEscapedLabelValue(_ value: String) {
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): append("\\\\")
            case UInt8(ascii: "\""): append("\\\"")
            case UInt8(ascii: "\n"): append("\\n")
            default: bytes.append(byte)
            }
        }
    }
}
