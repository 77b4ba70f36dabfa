import ArgumentParser
import BreakerTLS
import Dispatch
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// SIGHUP re-reads the listeners' certificates and keys, the usual signal for "your files
/// changed" (cert-manager, certbot hooks, `systemctl reload`). A file that fails to load is
/// logged and the old certificate stays in use; connections already open are not touched.
enum TLSReload {
    /// Loads the listeners' TLS, or exits with the reason (a bad certificate is a startup error).
    static func load(_ config: DaemonConfig, logger: Logger) throws -> (protocol: ServerTLS, http: ServerTLS?)? {
        guard let files = config.tlsFiles else { return nil }
        do throws(TLSSetupError) {
            let protocolTLS = try ServerTLS(files: files.protocol)
            let httpTLS = try files.http.map { files throws(TLSSetupError) in try ServerTLS(files: files) }
            return (protocolTLS, httpTLS)
        } catch {
            logger.critical("cannot set up TLS", metadata: ["error": "\(error.message)"])
            printError("breakerd: \(error.message)")
            throw ExitCode(1)
        }
    }

    /// Starts handling SIGHUP; keep the returned source alive for as long as it should work.
    static func onHangup(reloading listeners: [(name: String, tls: ServerTLS)], logger: Logger) -> any DispatchSourceSignal {
        signal(SIGHUP, SIG_IGN)  // the dispatch source sees it; the default action would kill us
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "breakerd.sighup"))
        source.setEventHandler {
            if listeners.isEmpty { logger.notice("SIGHUP: nothing to reload (TLS is off)") }
            for (name, tls) in listeners {
                do throws(TLSSetupError) {
                    try tls.reload()
                    logger.notice("reloaded TLS certificate", metadata: ["listener": "\(name)", "cert": "\(tls.files.certificateChain)"])
                } catch {
                    logger.error("cannot reload TLS certificate; still using the previous one",
                                 metadata: ["listener": "\(name)", "error": "\(error.message)"])
                }
            }
        }
        source.resume()
        return source
    }
}
