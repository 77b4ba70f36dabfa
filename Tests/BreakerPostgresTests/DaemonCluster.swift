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
        let daemon = DaemonProcess(database: "\(directory)/unused-\(daemons.count).sqlite3", arguments: [
            "--postgres-url", url, "--cluster", name, "--leader-lease", "2s",
        ] + (documentedAddresses ? ["--advertise", "10.0.0.\(daemons.count + 1):7420"] : []) + extraArguments)
        try daemon.start()
        daemons.append(daemon)
        return daemons.count - 1
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
