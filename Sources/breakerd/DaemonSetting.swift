import BreakerWire

/// One setting of breakerd, declared once: its config-file key (the flag is derived from it),
/// the values it takes, its help and how it is read from and written to `DaemonConfig`.
/// `DaemonSetting.all` (DaemonSettings.swift) is the list; the command line, the config file,
/// `--print-config`, `--help` and README's flag table are all made from it.
struct DaemonSetting: Sendable {
    /// What a setting accepts, in the file and on the command line.
    enum Values: Sendable {
        /// An integer within the range; `note` says what is special about it ("0 disables it").
        case integer(ClosedRange<Int64>, note: String?)
        /// Any string (`what` names it in the docs); `nonEmpty` refuses "".
        case text(what: String, nonEmpty: Bool)
        /// A file, or none: left out, or `null` in the file.
        case optionalPath
        /// Any string (`what` names it in the docs), or none: left out, or `null` in the file.
        case optionalText(what: String)
        /// A span of time within the range (milliseconds): `500ms`, `2s`, `1m`, or a bare
        /// number of milliseconds, on the command line and as a string in the file.
        case duration(ClosedRange<Int64>)
        /// One of these words.
        case choice([String])
        /// `--name` / `--no-name` on the command line, `true` / `false` in the file.
        case toggle
    }

    /// The config-file key, snake_case.
    let key: String
    /// The environment variable that sets it too (above the config file, below the flags).
    var environment: String? = nil
    let values: Values
    /// The default as the docs show it, when it is not simply the default config's value.
    let shownDefault: String?
    /// What it does, in markdown: README's flag table shows it as it is, `--help` as plain text.
    let help: String
    let get: @Sendable (DaemonConfig) -> JSONValue
    let set: @Sendable (inout DaemonConfig, JSONValue) -> Void

    /// `--max-in-flight` for `max_in_flight`.
    var flag: String { "--" + String(key.map { $0 == "_" ? "-" : $0 }) }

    /// How a usage message names the flag with its value, as swift-argument-parser did.
    var flagWithValue: String {
        if case .toggle = values { return flag }
        return "\(flag) <\(flag.dropFirst(2))>"
    }

    /// The value a command-line argument stands for; nil when it is not one of `values`.
    func value(fromArgument text: String) -> JSONValue? {
        switch values {
        case .integer: Int64(text).map(JSONValue.int)
        case .text, .optionalPath, .optionalText: .string(text)
        case .duration: DurationText.milliseconds(text).map(JSONValue.int)
        case .choice(let words): words.contains(text) ? .string(text) : nil
        case .toggle: nil
        }
    }

    /// A value from the config file, checked for its type (ranges are checked by `check`, once
    /// every layer is applied).
    func value(fromFile value: JSONValue) throws(DaemonConfigError) -> JSONValue {
        switch (values, value) {
        case (.integer, .int), (.text, .string), (.optionalPath, .string), (.optionalPath, .null), (.toggle, .bool),
             (.optionalText, .string), (.optionalText, .null), (.duration, .int):
            return value
        case (.duration, .string(let text)):
            guard let milliseconds = DurationText.milliseconds(text) else {
                throw DaemonConfigError("'\(key)' must be a duration such as 500ms, 2s or 1m, got '\(text)'")
            }
            return .int(milliseconds)
        case (.choice(let words), .string(let word)):
            guard words.contains(word) else {
                throw DaemonConfigError("'\(key)' has an unknown value '\(word)' (one of \(words.joined(separator: ", ")))")
            }
            return value
        case (.integer, _): throw DaemonConfigError("'\(key)' must be an integer")
        case (.toggle, _): throw DaemonConfigError("'\(key)' must be true or false")
        case (.optionalPath, _), (.optionalText, _): throw DaemonConfigError("'\(key)' must be a string or null")
        case (.duration, _): throw DaemonConfigError("'\(key)' must be a duration such as \"2s\" (or milliseconds)")
        case (.text, _), (.choice, _): throw DaemonConfigError("'\(key)' must be a string")
        }
    }

    /// Checks the effective value against the range; `name` is the key or, when the value came
    /// from the command line, the flag.
    func check(_ config: DaemonConfig, name: String) throws(DaemonConfigError) {
        switch (values, get(config)) {
        case (.integer(let range, let note), .int(let number)) where !range.contains(number):
            let rule = switch (range.lowerBound, range.upperBound) {
            case (0, .max): "must not be negative"
            case (let low, .max): "must be at least \(low)"
            case (let low, let high): "must be \(low)...\(high)"
            }
            throw DaemonConfigError("\(name) \(rule)\(note.map { " (\($0))" } ?? ""), got \(number)")
        case (.duration(let range), .int(let milliseconds)) where !range.contains(milliseconds):
            throw DaemonConfigError("\(name) must be \(DurationText.format(range.lowerBound))...\(DurationText.format(range.upperBound)), "
                                    + "got \(DurationText.format(milliseconds))")
        case (.text(_, nonEmpty: true), .string("")):
            throw DaemonConfigError("\(name) must not be empty")
        default:
            return
        }
    }
}

// The kinds of row, each bound to the `DaemonConfig` property it sets.
extension DaemonSetting {
    static func integer<T: FixedWidthInteger & SendableMetatype>(
        _ key: String, _ path: WritableKeyPath<DaemonConfig, T> & Sendable, _ range: ClosedRange<Int64>, note: String? = nil,
        shownDefault: String? = nil, help: String
    ) -> Self {
        Self(key: key, values: .integer(range, note: note), shownDefault: shownDefault, help: help,
             get: { .int(Int64(clamping: $0[keyPath: path])) },
             set: { config, value in if case .int(let number) = value { config[keyPath: path] = T(clamping: number) } })
    }

    static func text(_ key: String, _ path: WritableKeyPath<DaemonConfig, String> & Sendable, what: String,
                     nonEmpty: Bool = false, help: String) -> Self {
        Self(key: key, values: .text(what: what, nonEmpty: nonEmpty), shownDefault: nil, help: help,
             get: { .string($0[keyPath: path]) },
             set: { config, value in if case .string(let text) = value { config[keyPath: path] = text } })
    }

    static func path(_ key: String, _ path: WritableKeyPath<DaemonConfig, String?> & Sendable, help: String) -> Self {
        Self(key: key, values: .optionalPath, shownDefault: nil, help: help,
             get: { $0[keyPath: path].map(JSONValue.string) ?? .null },
             set: { config, value in
                 if case .string(let text) = value { config[keyPath: path] = text } else { config[keyPath: path] = nil }
             })
    }

    static func choice<T: RawRepresentable & CaseIterable & SendableMetatype>(
        _ key: String, _ path: WritableKeyPath<DaemonConfig, T> & Sendable, shownDefault: String? = nil, help: String
    ) -> Self where T.RawValue == String {
        Self(key: key, values: .choice(T.allCases.map(\.rawValue)), shownDefault: shownDefault, help: help,
             get: { .string($0[keyPath: path].rawValue) },
             set: { config, value in
                 if case .string(let word) = value, let choice = T(rawValue: word) { config[keyPath: path] = choice }
             })
    }

    static func optionalText(_ key: String, _ path: WritableKeyPath<DaemonConfig, String?> & Sendable, what: String,
                             environment: String? = nil, shownDefault: String? = nil, help: String) -> Self {
        Self(key: key, environment: environment, values: .optionalText(what: what), shownDefault: shownDefault, help: help,
             get: { $0[keyPath: path].map(JSONValue.string) ?? .null },
             set: { config, value in
                 if case .string(let text) = value { config[keyPath: path] = text } else { config[keyPath: path] = nil }
             })
    }

    static func duration(_ key: String, _ path: WritableKeyPath<DaemonConfig, Duration> & Sendable, _ range: ClosedRange<Int64>,
                         help: String) -> Self {
        Self(key: key, values: .duration(range), shownDefault: nil, help: help,
             get: { config in
                 let (seconds, attoseconds) = config[keyPath: path].components
                 return .int(seconds * 1000 + attoseconds / 1_000_000_000_000_000)
             },
             set: { config, value in if case .int(let milliseconds) = value { config[keyPath: path] = .milliseconds(milliseconds) } })
    }

    static func toggle(_ key: String, _ path: WritableKeyPath<DaemonConfig, Bool> & Sendable, help: String) -> Self {
        Self(key: key, values: .toggle, shownDefault: nil, help: help,
             get: { .bool($0[keyPath: path]) },
             set: { config, value in if case .bool(let on) = value { config[keyPath: path] = on } })
    }
}
