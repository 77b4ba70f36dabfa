import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// How breakerctl speaks TLS to a breakerd started with `--tls-cert`. Flags win over the
/// `BREAKERD_TLS_*` environment variables, so a shell can be set up once per cluster.
struct TLSOptions: ParsableArguments {
    @Flag(help: "Speak TLS to breakerd (implied by --tls-ca and --tls-cert; else BREAKERD_TLS=1).")
    var tls = false

    @Option(name: .customLong("tls-ca"), help: "PEM CA bundle to trust instead of the system roots (else BREAKERD_TLS_CA).")
    var caFile: String?

    @Option(name: .customLong("tls-cert"), help: "PEM client certificate, for a daemon that asks for one (else BREAKERD_TLS_CERT).")
    var certificateFile: String?

    @Option(name: .customLong("tls-key"), help: "PEM key of --tls-cert (else BREAKERD_TLS_KEY).")
    var keyFile: String?

    @Option(name: .customLong("tls-server-name"), help: "Name the daemon's certificate must carry, when not --host.")
    var serverName: String?

    struct Settings {
        var caFile: String?
        var certificateFile: String?
        var keyFile: String?
        var serverName: String?
    }

    /// nil: plain TCP.
    func settings() throws -> Settings? {
        func env(_ name: String) -> String? {
            getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        let settings = Settings(caFile: caFile ?? env("BREAKERD_TLS_CA"),
                                certificateFile: certificateFile ?? env("BREAKERD_TLS_CERT"),
                                keyFile: keyFile ?? env("BREAKERD_TLS_KEY"), serverName: serverName)
        guard (settings.certificateFile == nil) == (settings.keyFile == nil) else {
            throw CtlError.usage("--tls-cert and --tls-key go together")
        }
        let on = tls || env("BREAKERD_TLS") == "1" || settings.caFile != nil || settings.certificateFile != nil || serverName != nil
        return on ? settings : nil
    }
}
