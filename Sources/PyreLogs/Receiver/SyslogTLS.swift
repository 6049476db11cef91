import NIOSSL
import PyreCore

/// RFC 5425: syslog over TLS, the same octet-counted stream as TCP inside a TLS session.
/// Enabled when a certificate and key are configured (`logs: tls:` in pyre.yml).
public struct SyslogTLSConfiguration: Sendable {
    /// PEM files: the server's certificate chain (leaf first) and its private key.
    public var certificatePath: String
    public var keyPath: String
    /// The TLS listener's port (RFC 5425's is 6514); 0 picks a free one.
    public var port: Int
    /// Where the TLS listener is bound, when not where the others are: senders across a network
    /// reach it there, while UDP, TCP and RELP stay on the host's own address.
    public var host: String?

    public init(certificatePath: String, keyPath: String, port: Int, host: String? = nil) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        self.port = port
        self.host = host
    }

    /// Loads the files; a missing or malformed one is an error that names it.
    func makeContext() throws -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        } catch {
            throw PyreError(.logs, "cannot read the syslog TLS certificate \(certificatePath) (\(error)); give a PEM file")
        }
        do {
            key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        } catch {
            throw PyreError(.logs, "cannot read the syslog TLS key \(keyPath) (\(error)); give an unencrypted PEM file")
        }
        guard !chain.isEmpty else {
            throw PyreError(.logs, "\(certificatePath) holds no certificate; give a PEM file with the certificate chain")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) },
                                                                     privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return try NIOSSLContext(configuration: configuration)
    }
}
