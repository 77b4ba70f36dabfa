import Foundation

/// A private PKI made in the test with the `openssl` command: a CA, a server certificate for
/// 127.0.0.1 and localhost, a client certificate it signed, and a client certificate from a
/// second CA the daemon does not trust. EC P-256 keys: each takes milliseconds to make.
public struct TestCertificates: Sendable {
    public let directory: String
    public var caCertificate: String { directory + "/ca.pem" }
    public var serverCertificate: String { directory + "/server.pem" }
    public var serverKey: String { directory + "/server.key" }
    public var clientCertificate: String { directory + "/client.pem" }
    public var clientKey: String { directory + "/client.key" }
    /// Signed by a CA the daemon was not told about.
    public var strangerCertificate: String { directory + "/stranger.pem" }
    public var strangerKey: String { directory + "/stranger.key" }
    public var strangerCA: String { directory + "/stranger-ca.pem" }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Makes everything in `directory` (created if missing).
    public init(in directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.makeCA("ca", in: directory)
        try Self.makeCA("stranger-ca", in: directory)
        try Self.issue("server", by: "ca", in: directory,
                       extensions: "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
        try Self.issue("client", by: "ca", in: directory, extensions: "extendedKeyUsage=clientAuth\n")
        try Self.issue("stranger", by: "stranger-ca", in: directory, extensions: "extendedKeyUsage=clientAuth\n")
    }

    /// Replaces the server certificate and key with new ones from a new CA, written to
    /// `ca.pem` (as a rotation to a new PKI would), for reload tests.
    public func rotateServerCertificate() throws {
        try Self.makeCA("ca", in: directory)
        try Self.issue("server", by: "ca", in: directory,
                       extensions: "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    }

    private static func makeCA(_ name: String, in directory: String) throws {
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).pem", "-days", "2",
                     "-subj", "/CN=breakerd test \(name) \(UInt32.random(in: 0...UInt32.max))"])
    }

    private static func issue(_ name: String, by ca: String, in directory: String, extensions: String) throws {
        let ext = "\(directory)/\(name).ext"
        try extensions.write(toFile: ext, atomically: true, encoding: .utf8)
        try openssl(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).csr", "-subj", "/CN=\(name)"])
        try openssl(["x509", "-req", "-in", "\(directory)/\(name).csr", "-CA", "\(directory)/\(ca).pem",
                     "-CAkey", "\(directory)/\(ca).key", "-CAcreateserial", "-out", "\(directory)/\(name).pem",
                     "-days", "2", "-extfile", ext])
    }

    private static func openssl(_ arguments: [String]) throws {
        let output = try runProcess("/usr/bin/openssl", arguments)
        guard output.status == 0 else {
            throw Failure(description: "openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(output.stderr)")
        }
    }
}
