import ArgumentParser
import BreakerServer
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The executable: reads the command line with the settings table (`DaemonCommandLine`), then
/// runs the daemon. Exit codes: 0, 64 for a command line or config that cannot be used (the
/// problem on stderr), 1 when the daemon cannot start or fails. `breakerd migrate …` is
/// `MigrateCommand`, with exit codes of its own.
@main
enum Breakerd {
    static func main() async {
        if CommandLine.arguments.dropFirst().first == "migrate" {
            do throws(UsageError) {
                let migrate = try MigrateCommand(Array(CommandLine.arguments.dropFirst(2)))
                LoggingSystem.bootstrap { ConsoleLogHandler(label: $0, format: .text, level: .warning) }
                exit(migrate.run().rawValue)
            } catch {
                printError("Error: \(error.message)\nUsage: \(MigrateCommand.usage)\n  See 'breakerd migrate --help' for more information.")
                exit(MigrateCommand.Exit.usage.rawValue)
            }
        }
        let commandLine: DaemonCommandLine
        do throws(UsageError) {
            commandLine = try DaemonCommandLine(Array(CommandLine.arguments.dropFirst()))
        } catch {
            printError("Error: \(error.message)\nUsage: \(DaemonCommandLine.usage)\n  See 'breakerd --help' for more information.")
            exit(ExitCode.validationFailure.rawValue)
        }
        switch commandLine.action {
        case .help: print(DaemonCommandLine.help)
        case .version: print(BreakerServer.version)
        case .printSettingsMarkdown: print(DaemonCommandLine.settingsMarkdown)
        case .run, .printConfig:
            let effective: DaemonConfig
            do throws(DaemonConfigError) {
                effective = try commandLine.effectiveConfig()
            } catch {
                printError("breakerd: \(error.description)")
                exit(ExitCode.validationFailure.rawValue)
            }
            if commandLine.action == .printConfig {
                print(effective.json.pretty())
                return
            }
            do {
                try await Daemon(config: effective).run()
            } catch let code as ExitCode {
                exit(code.rawValue)
            } catch {
                printError("Error: \(error)")
                exit(1)
            }
        }
    }
}
