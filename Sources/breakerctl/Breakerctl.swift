import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// `breakerctl`: see and steer the breakers of a running breakerd.
///
/// Exit codes: 0 ok, 1 the daemon answered an error, 2 usage, 3 the daemon cannot be reached.
struct Breakerctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "breakerctl",
        abstract: "Admin CLI for breakerd: list, inspect, reset, configure, force, watch.",
        discussion: """
            Address: --host/--port, or BREAKERD_ADDR=host:port[,host:port...] (default 127.0.0.1:7420; a
            standby's not_leader is followed to the leader).
            Admin token for changes: --token-file PATH or BREAKERD_TOKEN.
            Exit codes: 0 ok, 1 the daemon answered an error, 2 usage, 3 cannot reach the daemon.
            """,
        version: "0.1.0",
        subcommands: [
            ListCommand.self, InspectCommand.self, ResetCommand.self, ConfigureCommand.self,
            ForceOpenCommand.self, ReleaseCommand.self, HistoryCommand.self, WatchCommand.self, PingCommand.self,
        ]
    )
}

@main
enum BreakerctlMain {
    static func main() {
        // A parent may have left SIGINT/SIGTERM blocked in the mask we inherit; `watch` must
        // still stop on Ctrl-C or a plain kill.
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGINT)
        sigaddset(&signals, SIGTERM)
        sigprocmask(SIG_UNBLOCK, &signals, nil)
        do {
            var command = try Breakerctl.parseAsRoot(movingGlobalOptions(Array(CommandLine.arguments.dropFirst())))
            try command.run()
        } catch let error as CtlError {
            printError(error.message)
            exit(error.exitCode)
        } catch {
            if Breakerctl.exitCode(for: error) == .success { Breakerctl.exit(withError: error) }  // --help, --version
            printError(Breakerctl.fullMessage(for: error))
            exit(2)
        }
    }
}

/// `breakerctl --host h list` means `breakerctl list --host h`: global options given before the
/// subcommand are moved after it, where the parser looks for them.
func movingGlobalOptions(_ arguments: [String]) -> [String] {
    let withValue: Set<String> = ["--host", "--port", "--timeout", "--request-timeout", "--token-file",
                                  "--tls-ca", "--tls-cert", "--tls-key", "--tls-server-name"]
    let flags: Set<String> = ["--json", "--no-color", "--tls"]
    var moved: [String] = []
    var index = 0
    while index < arguments.count {
        let argument = arguments[index]
        let name = String(argument.prefix { $0 != "=" })
        if withValue.contains(name) {
            moved.append(argument)
            if !argument.contains("="), index + 1 < arguments.count {
                moved.append(arguments[index + 1])
                index += 1
            }
        } else if flags.contains(argument) {
            moved.append(argument)
        } else {
            break
        }
        index += 1
    }
    guard index < arguments.count, !moved.isEmpty else { return arguments }
    // Before `configure`, --timeout can only mean the request timeout (after it, the breaker's).
    if arguments[index] == "configure" {
        moved = moved.map { $0 == "--timeout" ? "--request-timeout" : ($0.hasPrefix("--timeout=") ? "--request-timeout=" + $0.dropFirst(10) : $0) }
    }
    // The subcommand, then what the user wrote after it, then the moved options.
    return [arguments[index]] + arguments[(index + 1)...] + moved
}

/// Failures with the exit code they map to.
struct CtlError: Error {
    var message: String
    var exitCode: Int32

    /// The daemon answered `{"ok":false,…}`.
    static func daemon(code: String, message: String) -> CtlError {
        CtlError(message: "error: \(code): \(message)", exitCode: 1)
    }

    static func unreachable(_ address: String, _ reason: String) -> CtlError {
        CtlError(message: "error: cannot reach breakerd at \(address): \(reason)", exitCode: 3)
    }

    static func usage(_ message: String) -> CtlError {
        CtlError(message: "error: \(message)", exitCode: 2)
    }
}

func printError(_ message: String) {
    var line = message + "\n"
    line.withUTF8 { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
