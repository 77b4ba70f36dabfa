import BreakerSync
import NIOCore
import NIOSSL

/// A listener's certificate, key and, for mutual TLS, the CA its clients' certificates must
/// chain to. Paths to PEM files, read at start and on `ServerTLS.reload()`.
public struct TLSFiles: Sendable, Hashable {
    /// The server's certificate, then any intermediates, in one PEM file.
    public var certificateChain: String
    /// The certificate's private key (PEM, unencrypted).
    public var privateKey: String
    /// When set, a client must present a certificate signed by one of these CAs (PEM bundle),
    /// or the handshake fails before the client can send a single request.
    public var clientCA: String?

    public init(certificateChain: String, privateKey: String, clientCA: String? = nil) {
        self.certificateChain = certificateChain
        self.privateKey = privateKey
        self.clientCA = clientCA
    }
}

/// The TLS context of one listener, replaceable while it runs: certificates are rotated
/// (cert-manager, ACME) far more often than a breaker service should restart, and every
/// restart drops every client's cached decisions. New connections use the context current
/// when they are accepted; connections already open keep theirs.
public final class ServerTLS: Sendable {
    public let files: TLSFiles
    /// How long a client may take to complete its handshake before it is disconnected.
    public let handshakeTimeout: Duration
    private let context: Mutex<NIOSSLContext>

    /// Loads and checks the files now, so a bad path or a key that does not match the
    /// certificate stops the daemon at start instead of failing every handshake later.
    public init(files: TLSFiles, handshakeTimeout: Duration = .seconds(10)) throws(TLSSetupError) {
        self.files = files
        self.handshakeTimeout = handshakeTimeout
        self.context = Mutex(try Self.makeContext(files))
    }

    /// Whether clients must present a certificate.
    public var requiresClientCertificates: Bool { files.clientCA != nil }

    /// Reads the files again. On any error the context in use is kept, so a half-written
    /// certificate during a rotation cannot take the listener down.
    public func reload() throws(TLSSetupError) {
        let fresh = try Self.makeContext(files)
        context.withLock { $0 = fresh }
    }

    /// The handlers to put first in a new connection's pipeline: TLS itself, and a deadline
    /// for the handshake.
    public func makeHandlers() -> [any ChannelHandler] {
        [NIOSSLServerHandler(context: context.withLock { $0 }), TLSHandshakeDeadline(timeout: handshakeTimeout)]
    }

    private static func makeContext(_ files: TLSFiles) throws(TLSSetupError) -> NIOSSLContext {
        let chain = try TLSSetupError.loading("certificate chain", files.certificateChain) {
            try NIOSSLCertificate.fromPEMFile(files.certificateChain)
        }
        guard !chain.isEmpty else {
            throw TLSSetupError("no certificate found in \(files.certificateChain) (expected PEM)")
        }
        let key = try TLSSetupError.loading("private key", files.privateKey) {
            try NIOSSLPrivateKey(file: files.privateKey, format: .pem)
        }
        var configuration: TLSConfiguration
        if let clientCA = files.clientCA {
            let roots = try TLSSetupError.loading("client CA", clientCA) { try NIOSSLCertificate.fromPEMFile(clientCA) }
            guard !roots.isEmpty else { throw TLSSetupError("no certificate found in \(clientCA) (expected PEM)") }
            configuration = .makeServerConfigurationWithMTLS(
                certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key),
                trustRoots: .certificates(roots))
        } else {
            configuration = .makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        }
        configuration.minimumTLSVersion = .tlsv12
        // BoringSSL refuses a key that does not match the leaf certificate here.
        return try TLSSetupError.wrapping(
            "cannot use the certificate in \(files.certificateChain) with the key in \(files.privateKey) (do they belong together?)"
        ) { try NIOSSLContext(configuration: configuration) }
    }
}
