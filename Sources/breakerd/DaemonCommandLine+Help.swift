import BreakerWire

/// `breakerd --help` and README's flag table, both made from `DaemonSetting.all`.
extension DaemonCommandLine {
    static let abstract = "Shared circuit breakers over newline-delimited JSON, persisted in SQLite."
    static let usage = "breakerd [--config <config>] [--print-config] [<setting flags>]"

    /// In swift-argument-parser's layout: labels indented 2, help from column 26, 80 columns.
    static var help: String {
        let defaults = DaemonConfig()
        var rows = commandOptions.map { option in (option.flag + (option.value.map { " <\($0)>" } ?? ""), plain(option.help)) }
        rows += DaemonSetting.all.map { setting in
            let label = if case .toggle = setting.values { "\(setting.flag)/--no-\(setting.flag.dropFirst(2))" } else { setting.flagWithValue }
            let shown = setting.shownDefault ?? setting.defaultText(defaults, markdown: false)
            return (label, plain("\(setting.documentedHelp) (\(setting.values.markdown); default: \(shown))"))
        }
        rows += [("--version", "Show the version."), ("-h, --help", "Show help information.")]
        let options = rows.map { label, help in
            let padded = "  " + label
            let text = wrap(help, indent: 26)
            return padded.count < 26 ? padded + String(text.dropFirst(padded.count)) : padded + "\n" + text
        }
        return wrap("OVERVIEW: \(abstract)", indent: 0) + "\n\nUSAGE: \(usage)\n       \(MigrateCommand.usage)\n\nOPTIONS:\n" + options.joined(separator: "\n")
    }

    /// README's table of flags and config keys ("Running it").
    static var settingsMarkdown: String {
        let defaults = DaemonConfig()
        var lines = ["| flag | config key | default | values | |", "|---|---|---|---|---|"]
        lines += commandOptions.map { "| `\($0.flag)` | | \($0.value == nil ? "|" : "none | path") | \($0.help) |" }
        lines += DaemonSetting.all.map { setting in
            let flag = if case .toggle = setting.values { "--[no-]\(setting.flag.dropFirst(2))" } else { setting.flag }
            let shown = setting.shownDefault ?? setting.defaultText(defaults, markdown: true)
            return "| `\(flag)` | `\(setting.key)` | \(shown) | \(setting.values.markdown) | \(setting.documentedHelp) |"
        }
        return lines.joined(separator: "\n")
    }

    /// A markdown description as a sentence for the terminal: no backticks, links as their
    /// text, a capital first letter and a full stop.
    private static func plain(_ markdown: String) -> String {
        var text = markdown.replacing("`", with: "")
        text = text.replacing(/\[([^\]]*)\]\([^)]*\)/) { String($0.output.1) }
        return text.prefix(1).uppercased() + text.dropFirst() + "."
    }

    /// `text` in lines of at most 80 columns, every one indented by `indent` spaces.
    private static func wrap(_ text: String, indent: Int) -> String {
        let margin = String(repeating: " ", count: indent)
        var lines: [String] = [], line = margin
        for word in text.split(separator: " ") {
            if line.count > indent, line.count + 1 + word.count > 80 {
                lines.append(line)
                line = margin
            }
            line += (line.count > indent ? " " : "") + word
        }
        return (lines + [line]).joined(separator: "\n")
    }
}

extension DaemonSetting {
    /// The value in `defaults`, as the docs show it.
    func defaultText(_ defaults: DaemonConfig, markdown: Bool) -> String {
        if case .duration = values, case .int(let milliseconds) = get(defaults) {
            return markdown ? "`\(DurationText.format(milliseconds))`" : DurationText.format(milliseconds)
        }
        return switch get(defaults) {
        case .null: "none"
        case .bool(let on): on ? "on" : "off"
        case .string(let text): markdown ? "`\(text)`" : text
        case .int(let number): markdown ? "`\(number)`" : "\(number)"
        default: "?"
        }
    }
}

extension DaemonSetting {
    /// The help with the environment variable that also sets it, if any.
    var documentedHelp: String {
        help + (environment.map { "; also the environment variable `\($0)` (over the config file, under the flag)" } ?? "")
    }
}

extension DaemonSetting.Values {
    var markdown: String {
        switch self {
        case .integer(let range, let note):
            let bounds = range.upperBound == .max ? "≥ \(range.lowerBound)" : "\(range.lowerBound)–\(range.upperBound)"
            return bounds + (note.map { " (\($0))" } ?? "")
        case .text(let what, _): return what
        case .optionalPath: return "path"
        case .optionalText(let what): return what
        case .duration(let range): return "\(DurationText.format(range.lowerBound))–\(DurationText.format(range.upperBound))"
        case .choice(let words): return words.map { "`\($0)`" }.joined(separator: ", ")
        case .toggle: return "on, off"
        }
    }
}
