import BreakerPostgres

/// The PostgreSQL settings: checked with the rest of the config (a bad URL is a usage error,
/// before anything starts), and the address a leader publishes.
extension DaemonConfig {
    /// The URLs of `postgresURL`, in order, with the password file applied; nil on SQLite.
    func postgresURLs() throws(PostgresStoreError) -> [PostgresURL]? {
        guard let postgresURL else { return nil }
        return try PostgresURL.parseList(postgresURL, passwordFile: postgresPasswordFile)
    }

    func validatePostgres() throws(DaemonConfigError) {
        guard postgresURL != nil else {
            guard postgresPasswordFile == nil else {
                throw DaemonConfigError("postgres_password_file needs postgres_url")
            }
            return
        }
        if advertise == nil, Self.isWildcard(host) {
            throw DaemonConfigError("advertise is needed with postgres_url when host is \(host) (a wildcard): "
                                    + "give the HOST:PORT clients reach this daemon at")
        }
        if let advertise {
            guard let colon = advertise.lastIndex(of: ":"), !advertise[..<colon].isEmpty,
                  let port = Int(advertise[advertise.index(after: colon)...]), (1...65_535).contains(port) else {
                throw DaemonConfigError("advertise must be HOST:PORT, got '\(advertise)'")
            }
        }
    }

    /// The store's options: the session timeouts follow the lease, so PostgreSQL ends a frozen
    /// leader's session (and frees the lock) no sooner than the leader stops serving. A
    /// standby's session, idle between tries every 500 ms, needs at least a second.
    var postgresOptions: PostgresStore.Options {
        PostgresStore.Options(cluster: cluster, sessionTimeout: max(leaderLease, .seconds(1)))
    }

    /// What a leader publishes: `advertise`, else the listen host with the port it bound.
    func advertisedAddress(boundPort: Int) -> String {
        if let advertise { return advertise }
        return host.contains(":") ? "[\(host)]:\(boundPort)" : "\(host):\(boundPort)"
    }

    static func isWildcard(_ host: String) -> Bool {
        ["", "0.0.0.0", "::", "[::]", "*"].contains(host)
    }
}
