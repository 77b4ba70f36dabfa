import NIOCore
import NIOSSL

/// What a client (BreakerClient, breakerctl) needs to speak TLS to breakerd.
public enum ClientTLS {
    /// The name to send in SNI and to check the certificate against. An IP literal is never
    /// sent (SNI forbids it): nil tells NIOSSL to check the certificate's IP addresses against
    /// the address actually connected to.
    public static func serverHostname(host: String, override: String? = nil) -> String? {
        if let override { return override }
        return isIPLiteral(host) ? nil : host
    }

    static func isIPLiteral(_ host: String) -> Bool {
        (try? SocketAddress(ipAddress: host, port: 0)) != nil
    }

    /// A client configuration from PEM files: `caFile` is trusted instead of the system roots
    /// (a private CA is the usual case for an internal service), and a certificate with its key
    /// is presented when the daemon asks for one (mutual TLS).
    public static func configuration(caFile: String?, certificateFile: String?, keyFile: String?)
        throws(TLSSetupError) -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caFile {
            let roots = try TLSSetupError.loading("CA", caFile) { try NIOSSLCertificate.fromPEMFile(caFile) }
            guard !roots.isEmpty else { throw TLSSetupError("no certificate found in \(caFile) (expected PEM)") }
            configuration.trustRoots = .certificates(roots)
        }
        switch (certificateFile, keyFile) {
        case (nil, nil):
            break
        case (let certificateFile?, let keyFile?):
            let chain = try TLSSetupError.loading("client certificate", certificateFile) {
                try NIOSSLCertificate.fromPEMFile(certificateFile)
            }
            guard !chain.isEmpty else { throw TLSSetupError("no certificate found in \(certificateFile) (expected PEM)") }
            let key = try TLSSetupError.loading("client key", keyFile) { try NIOSSLPrivateKey(file: keyFile, format: .pem) }
            configuration.certificateChain = chain.map { .certificate($0) }
            configuration.privateKey = .privateKey(key)
        default:
            throw TLSSetupError("a client certificate needs both the certificate and its key")
        }
        return configuration
    }

    /// Builds the context once; it is shared by every connection a client makes.
    public static func makeContext(_ configuration: TLSConfiguration) throws(TLSSetupError) -> NIOSSLContext {
        try TLSSetupError.wrapping("cannot build a TLS context") { try NIOSSLContext(configuration: configuration) }
    }
}
