import BreakerCore
import BreakerPostgres
import BreakerStore
import BreakerWire
import Foundation
import Logging

/// `breakerd migrate`: copies a SQLite database into PostgreSQL ("Growing out of SQLite" in
/// README). This file only reads the command line and wires the parts: the copy is
/// `StorageCopy` (any two `BreakerStorage`s), the one transaction and `--force`'s emptying are
/// `PostgresStore.importing`. The PostgreSQL flags are the daemon's settings (`DaemonSetting.all`),
/// so they read, default and validate exactly as the daemon's do.
///
/// Exit codes: 0 copied and verified; 1 nothing copied because something failed (the source
/// cannot be read, PostgreSQL cannot be used, the copy or its check failed: the transaction
/// was rolled back); 2 the target already holds breaker data and `--force` was not given;
/// 3 a breakerd leads the cluster (or another migrate runs); 64 a command line that cannot be used.
struct MigrateCommand {
    enum Exit: Int32 {
        case copied = 0, failed = 1, notEmpty = 2, leaderServing = 3, usage = 64
    }

    static let usage = "breakerd migrate --from <path> --postgres-url <URL> [--postgres-password-file <path>] [--cluster <name>] [--force]"

    /// The daemon's settings that migrate takes too.
    static let settingKeys = ["postgres_url", "postgres_password_file", "cluster"]

    var from: String?
    var force = false
    var help = false
    var config = DaemonConfig()
    var flagsGiven: Set<String> = []

    init(_ arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment) throws(UsageError) {
        let settings = Self.settingKeys.compactMap { DaemonSetting.byKey[$0] }
        for setting in settings {
            guard let name = setting.environment, let text = environment[name], !text.isEmpty,
                  let value = setting.value(fromArgument: text) else { continue }
            setting.set(&config, value)
        }
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            let (flag, attached) = DaemonCommandLine.split(argument)
            func value() throws(UsageError) -> String {
                if let attached { return attached }
                guard let next = rest.popFirst(), !next.hasPrefix("--") else {
                    throw UsageError("Missing value for '\(flag) <\(flag.dropFirst(2))>'")
                }
                return next
            }
            switch flag {
            case "-h", "--help": help = true
            case "--force": force = true
            case "--from": from = try value()
            default:
                guard let setting = settings.first(where: { $0.flag == flag }) else {
                    throw UsageError(flag.hasPrefix("-") ? "Unknown option '\(flag)'" : "Unexpected argument '\(flag)'")
                }
                let text = try value()
                guard let parsed = setting.value(fromArgument: text) else {
                    throw UsageError("The value '\(text)' is invalid for '\(setting.flagWithValue)'")
                }
                setting.set(&config, parsed)
                flagsGiven.insert(setting.key)
            }
        }
        guard !help else { return }
        guard from != nil else { throw UsageError("Missing '--from <path>' (the SQLite database to copy)") }
        guard config.postgresURL != nil else {
            throw UsageError("Missing '--postgres-url <URL>' (or the environment variable BREAKERD_POSTGRES_URL)")
        }
        do throws(DaemonConfigError) {
            try config.validate(flagsGiven: flagsGiven)
        } catch {
            throw UsageError(error.description)
        }
    }

    static let helpText = """
        OVERVIEW: Copy a breakerd SQLite database into PostgreSQL: every breaker (config, state,
        open deadline, forced open, generation, counts), each breaker's transition history in order
        with actor and note, and the dedupe keys not yet expired. One transaction: on any failure
        nothing is written. Runs only while no breakerd leads the cluster (it holds the cluster's
        lease for the copy; standbys may keep running and take over afterwards).

        USAGE: \(usage)

        OPTIONS:
          --from <path>           The SQLite database file (not in use by a running breakerd).
          --postgres-url <URL>    The target, as breakerd's --postgres-url (several URLs:
                                  the first primary); also BREAKERD_POSTGRES_URL.
          --postgres-password-file <path>
                                  File whose first line is the PostgreSQL password.
          --cluster <name>        The breakerd cluster name whose lease is taken (default:
                                  default).
          --force                 Replace whatever breaker data the target holds, in the same
                                  transaction as the copy.
          -h, --help              Show help information.

        EXIT CODES: 0 copied and verified; 1 failed, nothing copied; 2 the target holds breaker
        data and --force was not given; 3 a breakerd leads the cluster; 64 usage.
        """

    /// Runs the migration; returns the exit code. Messages go to stderr, the summary to stdout.
    func run() -> Exit {
        if help {
            print(Self.helpText)
            return .copied
        }
        guard let from else { return .usage }
        let logger = Logger(label: "breakerd-migrate")
        let fail = { (message: String, exit: Exit) -> Exit in
            printError("breakerd migrate: \(message)")
            return exit
        }
        guard FileManager.default.fileExists(atPath: from) else {
            return fail("no SQLite database at \(from); nothing was copied", .failed)
        }
        let source: BreakerDatabase
        do {
            source = try BreakerDatabase(path: from, logger: logger)
        } catch {
            return fail("\(error.message); nothing was copied", .failed)
        }
        defer { source.close() }
        let target: PostgresStore
        do throws(PostgresStoreError) {
            let urls = try config.postgresURLs() ?? []
            target = try PostgresStore.connect(urls, options: .init(cluster: config.cluster, sessionTimeout: .seconds(60),
                                                                     queryTimeout: .seconds(300)), logger: logger)
        } catch {
            return fail("\(error.message); nothing was copied", .failed)
        }
        defer { target.close() }
        return copy(from: source, to: target, fail: fail)
    }

    private func copy(from source: BreakerDatabase, to target: PostgresStore,
                      fail: (String, Exit) -> Exit) -> Exit {
        let database = "PostgreSQL database \(target.url.database) at \(target.url.server)"
        do throws(PostgresStoreError) {
            guard try target.tryAcquire(elapsed: .zero) else {
                let published = (try? target.currentLeader(cluster: config.cluster)) ?? nil
                let named = published.flatMap { $0.lockHeld ? " (\($0.address))" : nil } ?? ""
                return fail("a breakerd leads cluster \"\(config.cluster)\" on \(database)\(named), or another migrate "
                            + "runs; nothing was copied. Stop every breakerd of the cluster, then migrate again", .leaderServing)
            }
            if let other = try target.otherServingClusters().first {
                return fail("a breakerd leads cluster \"\(other.cluster)\" on \(database) (\(other.address)); nothing was "
                            + "copied. Stop every breakerd using this database, then migrate again", .leaderServing)
            }
            let contents = try target.contents()
            if !contents.isEmpty && !force {
                return fail("\(database) already holds \(contents); nothing was copied. "
                            + "--force replaces them with the contents of \(source.path)", .notEmpty)
            }
        } catch {
            return fail("\(error.message); nothing was copied", .failed)
        }
        let now = Timestamp(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000))
        do {
            let totals = try target.importing(replacing: force) { () throws(StoreError) -> StorageCopy.Totals in
                let totals = try StorageCopy.copy(from: source, to: target, now: now)
                // Read back inside the transaction: committed only if it holds what was read.
                let differences = try StorageCopy.differences(between: source, and: target, now: now, history: false)
                guard differences.isEmpty else {
                    throw StoreError(code: .internal, message: "the copy does not match the source: "
                                     + differences.prefix(5).joined(separator: "; "))
                }
                return totals
            }
            print("copied \(totals) from \(source.path) to \(target.location) (cluster \(config.cluster))"
                  + (force ? ", replacing what it held" : ""))
            return .copied
        } catch {
            return fail("\(error.message); nothing was copied", .failed)
        }
    }
}
