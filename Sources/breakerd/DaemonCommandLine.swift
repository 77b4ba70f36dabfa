import BreakerWire
import Foundation

/// breakerd's command line, read with `DaemonSetting.all`: `--config`, `--print-config`,
/// `--help`, `--version`, and one flag per setting (`--port 7420` or `--port=7420`, a toggle as
/// `--http-tls` / `--no-http-tls`; the last of a flag given twice wins). Every flag is optional
/// so that a flag given can be told from one left out: defaults live in `DaemonConfig`, a
/// `--config` file overrides them, and the flags given override the file.
struct DaemonCommandLine {
    enum Action: Equatable {
        case run, printConfig, help, version
        /// README's flag table, for the test that keeps README equal to it.
        case printSettingsMarkdown
    }

    var action = Action.run
    var configFile: String?
    /// The settings given as flags, in order.
    var flags: [(setting: DaemonSetting, value: JSONValue)] = []

    /// The options that are not settings: flag, value name, what it does (markdown, as in a setting).
    static let commandOptions: [(flag: String, value: String?, help: String)] = [
        ("--config", "config", "JSON config file (see [Configuration](#configuration)); flags override it"),
        ("--print-config", nil, "print the effective config (defaults, file, flags) as JSON and exit"),
    ]

    init(_ arguments: [String]) throws(UsageError) {
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            let (flag, attached) = Self.split(argument)
            func value() throws(UsageError) -> String {
                if let attached { return attached }
                guard let next = rest.first, !next.hasPrefix("-") || Int64(next) != nil else {
                    throw UsageError("Missing value for '\(flag) <\(flag.dropFirst(2))>'")
                }
                return rest.removeFirst()
            }
            if let alone = Self.actions[flag] {
                guard attached == nil else { throw UsageError("'\(flag)' takes no value") }
                action = alone
                if alone == .help || alone == .version { return }
            } else if flag == "--config" {
                configFile = try value()
            } else {
                flags.append(try Self.setting(flag, attached: attached, value: value))
            }
        }
    }

    /// The flags that take no value and choose what to do.
    private static let actions: [String: Action] = ["-h": .help, "--help": .help, "--version": .version,
                                                    "--print-config": .printConfig, "--print-settings-markdown": .printSettingsMarkdown]

    /// `--port=1` is `--port` with the value `1` attached.
    static func split(_ argument: String) -> (flag: String, attached: String?) {
        guard argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
        return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }

    private static func setting(_ flag: String, attached: String?, value: () throws(UsageError) -> String)
        throws(UsageError) -> (setting: DaemonSetting, value: JSONValue) {
        if let setting = DaemonSetting.byFlag[flag] {
            if case .toggle = setting.values {
                guard attached == nil else { throw UsageError("'\(flag)' takes no value") }
                return (setting, .bool(true))
            }
            let text = try value()
            guard let parsed = setting.value(fromArgument: text) else {
                var message = "The value '\(text)' is invalid for '\(setting.flagWithValue)'"
                if case .choice(let words) = setting.values { message += ": one of \(words.joined(separator: ", "))" }
                throw UsageError(message)
            }
            return (setting, parsed)
        }
        if flag.hasPrefix("--no-"), let setting = DaemonSetting.byFlag["--" + flag.dropFirst(5)],
           case .toggle = setting.values, attached == nil {
            return (setting, .bool(false))
        }
        throw UsageError(flag.hasPrefix("-") ? "Unknown option '\(flag)'" : "Unexpected argument '\(flag)'")
    }

    /// Defaults, then the file, then the environment, then the flags given; a range error names
    /// the flag when the value came from one.
    func effectiveConfig(environment: [String: String] = ProcessInfo.processInfo.environment) throws(DaemonConfigError) -> DaemonConfig {
        var effective = DaemonConfig()
        if let configFile { try effective.apply(file: configFile) }
        for setting in DaemonSetting.all {
            guard let name = setting.environment, let text = environment[name], !text.isEmpty else { continue }
            guard let value = setting.value(fromArgument: text) else {
                throw DaemonConfigError("environment variable \(name) has an unusable value")
            }
            setting.set(&effective, value)
        }
        for (setting, value) in flags { setting.set(&effective, value) }
        try effective.validate(flagsGiven: Set(flags.map(\.setting.key)))
        return effective
    }
}

/// A command line that cannot be read: printed with the usage, exit 64 (as
/// swift-argument-parser did).
struct UsageError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}
