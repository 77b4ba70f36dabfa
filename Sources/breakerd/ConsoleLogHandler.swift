import BreakerCore
import BreakerWire
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// breakerd's log lines on standard error (standard output carries only the "listening" line
/// scripts wait for), one line per event, in one of two formats:
///
/// - `text`: `2026-11-29T14:03:07.412Z warning breaker transition breaker=payments-api from=closed …`
/// - `json`: `{"ts":"2026-11-29T14:03:07.412Z","level":"warning","msg":"breaker transition","breaker":"payments-api",…}`
///
/// Metadata keys are sorted, so lines diff well. Each line is one `write(2)`, so lines from
/// different threads never interleave.
struct ConsoleLogHandler: LogHandler {
    typealias Format = DaemonConfig.LogFormat

    let label: String
    let format: Format
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String, format: Format, level: Logger.Level) {
        self.label = label
        self.format = format
        self.logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let extra = event.metadata { merged.merge(extra) { $1 } }
        if let error = event.error { merged["error"] = "\(error)" }
        let time = RFC3339.format(Self.now())
        var line = switch format {
        case .text: Self.text(time: time, level: event.level, message: "\(event.message)", metadata: merged)
        case .json: Self.json(time: time, level: event.level, label: label, message: "\(event.message)", metadata: merged)
        }
        line += "\n"
        line.withUTF8 { _ = Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    static func text(time: String, level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        var line = "\(time) \(level.rawValue) \(message)"
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            line += " \(key)=\(quotedIfNeeded(flatten(value)))"
        }
        return line
    }

    static func json(time: String, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> String {
        var w = JSONWriter(capacity: 256)
        w.beginObject()
        w.field("ts", time)
        w.field("level", level.rawValue)
        w.field("logger", label)
        w.field("msg", message)
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            // The four keys above are the line's own; metadata never overwrites them.
            w.key(["ts", "level", "logger", "msg"].contains(key) ? "meta_" + key : key)
            write(value, to: &w)
        }
        w.endObject()
        return String(decoding: w.bytes, as: UTF8.self)
    }

    private static func write(_ value: Logger.Metadata.Value, to w: inout JSONWriter) {
        switch value {
        case .string(let text): w.string(text)
        case .stringConvertible(let convertible): w.string(convertible.description)
        case .array(let items):
            w.beginArray()
            for item in items { write(item, to: &w) }
            w.endArray()
        case .dictionary(let dictionary):
            w.beginObject()
            for (key, item) in dictionary.sorted(by: { $0.key < $1.key }) {
                w.key(key)
                write(item, to: &w)
            }
            w.endObject()
        }
    }

    private static func flatten(_ value: Logger.Metadata.Value) -> String {
        switch value {
        case .string(let text): text
        case .stringConvertible(let convertible): convertible.description
        case .array(let items): "[" + items.map(flatten).joined(separator: ",") + "]"
        case .dictionary(let dictionary):
            "{" + dictionary.sorted { $0.key < $1.key }.map { "\($0.key)=\(flatten($0.value))" }.joined(separator: ",") + "}"
        }
    }

    /// Values with spaces, quotes or `=` are quoted so `key=value` pairs stay parseable.
    private static func quotedIfNeeded(_ text: String) -> String {
        guard text.isEmpty || text.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline }) else { return text }
        var w = JSONWriter(capacity: text.utf8.count + 2)
        w.string(text)
        return String(decoding: w.bytes, as: UTF8.self)
    }

    private static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(millisecondsSinceEpoch: Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000)
    }
}
