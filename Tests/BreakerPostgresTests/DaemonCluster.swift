import BreakerSync
import BreakerTestSupport
import BreakerWire
import Foundation

/// Real `breakerd` processes sharing one fresh database of the throwaway PostgreSQL cluster, one
/// breakerd cluster name: what a deployment with hot standbys runs.
final class DaemonCluster {
    let url: String
    let databaseName: String
    let name: String
    let directory = makeTempDirectory()
    private(set) var daemons: [DaemonProcess] = []
    let extraArguments: [String]
    /// Daemon i advertises `10.0.0.<i+1>:7420` (as PROTOCOL.md's examples do) instead of its
    /// real address: the published address is only ever compared, never dialled, in such tests.
    let documentedAddresses: Bool

    /// `urls` makes the URL list from the database's name (several servers); by default the
    /// one URL of `postgres` (the shared throwaway cluster unless given).
    init(count: Int, name: String = "test", arguments: [String] = [], documentedAddresses: Bool = false,
         postgres: PostgresCluster? = nil, urls: ((String) -> String)? = nil) throws {
        let (databaseName, url) = try (postgres ?? PostgresCluster.get()).freshDatabase()
        self.databaseName = databaseName
        self.url = urls?(databaseName) ?? url
        self.name = name
        self.extraArguments = arguments
        self.documentedAddresses = documentedAddresses
        for _ in 0..<count { try startOne() }
    }

    deinit {
        for daemon in daemons where daemon.process.isRunning {
            kill(daemon.process.processIdentifier, SIGCONT)
            daemon.kill(SIGKILL)
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Starts one more daemon of the cluster; returns its index.
    @discardableResult
    func startOne() throws -> Int {
        let daemon = makeDaemon(daemons.count)
        try daemon.start()
        daemons.append(daemon)
        return daemons.count - 1
    }

    /// Starts daemon `index` again (after it was killed) on the same protocol port, where the
    /// clients given the cluster's endpoints look for it.
    func restart(_ index: Int) throws {
        let daemon = makeDaemon(index, port: daemons[index].port)
        try daemon.start()
        daemons[index] = daemon
    }

    private func makeDaemon(_ index: Int, port: Int = 0) -> DaemonProcess {
        DaemonProcess(database: "\(directory)/unused-\(index).sqlite3", port: port, arguments: [
            "--postgres-url", url, "--cluster", name, "--leader-lease", "2s",
        ] + (documentedAddresses ? ["--advertise", "10.0.0.\(index + 1):7420"] : []) + extraArguments)
    }

    /// After the leader `killed` died at `since`: the first other daemon to serve a decision
    /// (answered, not `not_leader`), each asked on a new connection every few milliseconds, and
    /// how long after `since` it served; nil if none did within `seconds`.
    func firstToServe(excluding killed: Int, since: ContinuousClock.Instant,
                      within seconds: Double = 10) -> (index: Int, after: Duration)? {
        var next: Int?
        let served = eventually(within: seconds) {
            for index in daemons.indices where index != killed {
                guard let reply = try? client(index, timeoutSeconds: 1)
                        .request(#"{"op":"should-attempt","breaker":"takeover-probe"}"#), reply["ok"]?.bool == true else { continue }
                next = index
                return true
            }
            return false
        }
        let after = ContinuousClock.now - since
        guard served, let next else { return nil }
        return (next, after)
    }

    /// `hello`'s role from daemon `index` on a new connection; nil when it does not answer in
    /// time (frozen, dead) or closes.
    func role(_ index: Int) -> String? {
        guard daemons[index].process.isRunning,
              let client = try? LineClient(port: daemons[index].port, timeoutSeconds: 1),
              let reply = try? client.request(#"{"op":"hello","client":"probe"}"#) else { return nil }
        return reply["role"]?.string
    }

    /// The one daemon whose `hello` says leader once every live one answers, with the others
    /// saying standby; nil if that does not come about within `seconds`.
    func soleLeader(within seconds: Double = 20, excluding: Set<Int> = []) -> Int? {
        var found: Int?
        let settled = eventually(within: seconds) {
            let roles = daemons.indices.filter { !excluding.contains($0) }.map { ($0, role($0)) }
            let leaders = roles.filter { $0.1 == "leader" }.map(\.0)
            guard leaders.count == 1, roles.allSatisfy({ $0.1 == "leader" || $0.1 == "standby" }) else { return false }
            found = leaders[0]
            return true
        }
        return settled ? found : nil
    }

    /// `/readyz`'s status code of daemon `index`.
    func readyz(_ index: Int) -> Int? {
        try? HTTPTestClient.get("/readyz", port: daemons[index].httpPort).status
    }

    func healthz(_ index: Int) -> Int? {
        try? HTTPTestClient.get("/healthz", port: daemons[index].httpPort).status
    }

    /// Whether daemon `index`'s `breakerd_standby_copy_breakers` shows `count` within 10 s.
    func copied(_ index: Int, reaches count: Int) -> Bool {
        eventually(within: 10) {
            let metrics = (try? HTTPTestClient.get("/metrics", port: daemons[index].httpPort).text) ?? ""
            let sample = metrics.split(separator: "\n").first { $0.hasPrefix("breakerd_standby_copy_breakers ") }
            return sample.flatMap { Double($0.split(separator: " ")[1]) } == Double(count)
        }
    }

    /// The address daemon `index` publishes while it leads.
    func address(_ index: Int) -> String {
        documentedAddresses ? "10.0.0.\(index + 1):7420" : "127.0.0.1:\(daemons[index].port)"
    }

    /// PROTOCOL.md's example replies for `not_leader` (the lines after `→ ` that carry it).
    static func documentedNotLeaderReplies() throws -> [String] {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../proto-docs/PROTOCOL.md").standardized.path
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
            .filter { $0.hasPrefix("→ ") && $0.contains(#""code":"not_leader""#) }.map { String($0.dropFirst(2)) }
    }

    func client(_ index: Int, timeoutSeconds: Int = 5) throws -> LineClient {
        try LineClient(port: daemons[index].port, timeoutSeconds: timeoutSeconds)
    }

    /// One request to daemon `index` on a new connection.
    func request(_ index: Int, _ line: String) throws -> JSONValue {
        try client(index).request(line)
    }
}

/// A `DaemonCluster` for an async test: its blocking steps (processes, sockets, polling) run on
/// a thread of their own, one at a time, so the cooperative threads stay free for the tasks of
/// the clients under test.
final class ClusterOnThread: Sendable {
    private let cluster: Mutex<DaemonCluster>

    private init(_ cluster: sending DaemonCluster) {
        self.cluster = Mutex(cluster)
    }

    /// Starts the cluster `make` makes, on a thread of its own.
    static func start(_ make: @escaping @Sendable () throws -> DaemonCluster) async throws -> ClusterOnThread {
        try await Self.onOwnThread { ClusterOnThread(try make()) }
    }

    /// Runs `step` on the cluster, on a thread of its own.
    func run<R: Sendable>(_ step: @escaping @Sendable (DaemonCluster) throws -> R) async throws -> R {
        try await Self.onOwnThread { try self.cluster.withLock { try step($0) } }
    }

    private static func onOwnThread<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }
}
