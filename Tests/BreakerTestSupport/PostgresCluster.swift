import BreakerSync
import Foundation
import struct Synchronization.Atomic

/// A throwaway PostgreSQL cluster for the tests: Debian's binaries, `initdb` into a temp folder,
/// `pg_ctl` on a free loopback port with its socket in that folder, as the `postgres` user when
/// we are root (PostgreSQL refuses to run as root). One per test process, started on first use
/// and stopped and removed at exit; each test takes a fresh database.
///
/// Authentication: `trust` for every role but `PostgresCluster.passwordRole`, which must give
/// its password (scram-sha-256), so the wrong-password error is real.
public final class PostgresCluster: Sendable {
    public static let passwordRole = "breakerd_pw"
    public static let password = "s3cret-pw"

    public let folder: String
    public let port: Int
    public let binaries: String
    private let databases = Atomic<Int>(0)
    private let standby = Mutex<Int?>(nil)

    /// The cluster, or the reason there is none (PostgreSQL not installed, failed to start).
    public static let shared: Result<PostgresCluster, ClusterError> = {
        do {
            let cluster = try PostgresCluster()
            atexit { if case .success(let cluster) = PostgresCluster.shared { cluster.stop() } }
            return .success(cluster)
        } catch let error as ClusterError {
            return .failure(error)
        } catch {
            return .failure(ClusterError(message: "\(error)"))
        }
    }()

    /// The shared cluster; throws the reason there is none, so the test fails saying it.
    public static func get() throws -> PostgresCluster { try shared.get() }

    public struct ClusterError: Error, CustomStringConvertible {
        public var message: String
        public init(message: String) { self.message = message }
        public var description: String { message }
    }

    /// Where Debian puts a PostgreSQL's binaries; nil when none is installed.
    public static var installedBinaries: String? {
        let base = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [])
            .compactMap(Int.init).sorted(by: >)
        return versions.map { "\(base)/\($0)/bin" }.first { FileManager.default.isExecutableFile(atPath: "\($0)/pg_ctl") }
    }

    /// Outside CI the suites skip without PostgreSQL; under CI (`CI=true`) they run and fail.
    public static var shouldRun: Bool {
        installedBinaries != nil || ProcessInfo.processInfo.environment["CI"] == "true"
    }

    private init() throws {
        guard let binaries = Self.installedBinaries else {
            throw ClusterError(message: "PostgreSQL is not installed: these tests need Debian's postgresql package "
                               + "(apt-get install -y postgresql; binaries in /usr/lib/postgresql/VERSION/bin)")
        }
        self.binaries = binaries
        var template = Array("\(NSTemporaryDirectory())/breakerd-pg-XXXXXX".utf8CString)
        guard let created = mkdtemp(&template) else { throw ClusterError(message: "cannot make a temp folder") }
        folder = String(cString: created)
        port = try Self.freePort()
        if getuid() == 0 { try Self.run(["/bin/chown", "postgres:postgres", folder], asPostgres: false) }
        try Self.run(["\(binaries)/initdb", "-D", "\(folder)/data", "-U", "postgres", "-A", "trust", "-E", "UTF8",
                      "--no-sync"])
        let hba = """
            local all all trust
            host all \(Self.passwordRole) 127.0.0.1/32 scram-sha-256
            host all all 127.0.0.1/32 trust
            host replication all 127.0.0.1/32 trust
            host all all ::1/128 trust
            """
        try hba.write(toFile: "\(folder)/data/pg_hba.conf", atomically: false, encoding: .utf8)
        try startServer(data: "\(folder)/data", port: port, settings: Self.primarySettings)
        try sql("CREATE ROLE \(Self.passwordRole) LOGIN SUPERUSER PASSWORD '\(Self.password)'")
    }

    private static let primarySettings = "-c max_connections=200"

    /// A hot standby of this cluster (`pg_basebackup -R`), on its own port; started on first use.
    /// Returns its port.
    public func standbyPort() throws -> Int {
        try standby.withLock { port in
            if let port { return port }
            let started = try Self.freePort()
            try? FileManager.default.removeItem(atPath: "\(folder)/standby")  // what a failed attempt left
            try Self.run(["\(binaries)/pg_basebackup", "-h", "127.0.0.1", "-p", "\(self.port)", "-U", "postgres",
                          "-D", "\(folder)/standby", "-R", "--no-sync", "--checkpoint=fast"])
            try startServer(data: "\(folder)/standby", port: started, settings: "-c hot_standby=on -c max_connections=200")
            port = started
            return started
        }
    }

    /// A cluster of the caller's own (not `shared`), for a test that stops, restarts or fails
    /// over PostgreSQL itself; the caller `stop()`s it.
    public static func dedicated() throws -> PostgresCluster { try PostgresCluster() }

    /// Stops the primary server (`pg_ctl stop -m MODE`: `fast` ends sessions and checkpoints,
    /// `immediate` is a crash). Returns once it is down.
    public func stopServer(mode: String = "fast") throws {
        try Self.spawn(["\(binaries)/pg_ctl", "-D", "\(folder)/data", "-m", mode, "-w", "stop"], output: "\(folder)/data.stop.out")
    }

    /// Starts the primary server again after `stopServer`; returns once it accepts connections.
    public func startServer() throws {
        try startServer(data: "\(folder)/data", port: port, settings: Self.primarySettings)
    }

    /// Makes the standby (`standbyPort()`) synchronous: the primary's commits wait for it
    /// (`synchronous_standby_names = '*'`). Returns once `pg_stat_replication` says `sync`.
    public func makeStandbySynchronous() throws {
        _ = try standbyPort()
        try sql("ALTER SYSTEM SET synchronous_standby_names = '*'")
        try sql("SELECT pg_reload_conf()")
        let deadline = ContinuousClock.now + .seconds(30)
        while try sql("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") != "1" {
            guard ContinuousClock.now < deadline else { throw ClusterError(message: "the standby did not become synchronous") }
            usleep(20_000)
        }
    }

    /// Promotes the standby to primary (`pg_ctl promote -w`: returns once it accepts writes).
    public func promoteStandby() throws {
        try Self.spawn(["\(binaries)/pg_ctl", "-D", "\(folder)/standby", "-w", "promote"], output: "\(folder)/standby.promote.out")
    }

    public func stop() {
        if standby.withLock({ $0 }) != nil {
            _ = try? Self.spawn(["\(binaries)/pg_ctl", "-D", "\(folder)/standby", "-m", "immediate", "-w", "stop"],
                                output: "\(folder)/standby.stop.out")
        }
        _ = try? Self.spawn(["\(binaries)/pg_ctl", "-D", "\(folder)/data", "-m", "immediate", "-w", "stop"],
                            output: "\(folder)/data.stop.out")
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// A new, empty database, and its URL for the trusted superuser.
    public func freshDatabase() throws -> (name: String, url: String) {
        let name = "test_\(getpid())_\(databases.add(1, ordering: .relaxed).newValue)"
        try sql("CREATE DATABASE \(name)")
        return (name, "postgres://postgres@127.0.0.1:\(port)/\(name)")
    }

    /// Runs SQL through psql as the superuser; returns its unaligned output.
    @discardableResult
    public func sql(_ statement: String, database: String = "postgres") throws -> String {
        let output = try runProcess("\(binaries)/psql", ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                                                         "-p", "\(port)", "-U", "postgres", "-d", database, "-c", statement])
        guard output.status == 0 else {
            throw ClusterError(message: "psql \(statement): \(output.stderr)")
        }
        return output.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    public static func run(_ command: [String], asPostgres: Bool = true) throws {
        let asRoot = getuid() == 0
        let (executable, arguments) = asPostgres && asRoot
            ? ("/usr/sbin/runuser", ["-u", "postgres", "--"] + command)
            : (command[0], Array(command.dropFirst()))
        let output = try runProcess(executable, arguments)
        guard output.status == 0 else {
            throw ClusterError(message: "\(command.joined(separator: " ")) failed (\(output.status)): \(output.stderr)\(output.stdout)")
        }
    }

    /// `pg_ctl start` with its output in a file: the server it leaves running inherits pg_ctl's
    /// stdout and stderr, so a pipe there would see end-of-file only at the server's exit.
    private func startServer(data: String, port: Int, settings: String) throws {
        try Self.spawn(["\(binaries)/pg_ctl", "-D", data, "-l", "\(data).log", "-w", "-o",
                        "-p \(port) -k \(folder) -c listen_addresses=127.0.0.1 \(settings)", "start"],
                       output: "\(data).pg_ctl.out", log: "\(data).log")
    }

    /// Runs `command` (as `postgres` when we are root) to its exit with its output in a file,
    /// on this thread; also used at process exit (`ChildProcess.runToExit`).
    private static func spawn(_ command: [String], output outputPath: String, log: String? = nil) throws {
        let argv = getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + command : command
        let ended = try ChildProcess.runToExit(argv[0], Array(argv.dropFirst()), standardOutput: .file(outputPath),
                                               standardError: .standardOutput)
        guard ended == .init(reason: .exit, status: 0) else {
            let said = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
            let logged = log.flatMap { try? String(contentsOfFile: $0, encoding: .utf8) } ?? ""
            throw ClusterError(message: "\(command.joined(separator: " ")) failed (\(ended)): \(said)\(logged)")
        }
    }

    /// A port nobody listens on now: bind port 0 and read what the kernel chose.
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw ClusterError(message: "cannot find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
