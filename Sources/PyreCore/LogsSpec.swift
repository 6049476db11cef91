/// `logs:` in pyre.yml: where the syslog receiver listens (`logs.ZONE`) and how long the
/// log store keeps records.
public struct LogsSpec: Sendable, Equatable {
    /// UDP and TCP port on the system address; nil is 514 for root, else 5514.
    public var port: Int?
    /// Whole segments whose newest record is older than this are removed.
    public var maxAge: Duration
    /// Oldest segments are removed while the store is larger than this many bytes.
    public var maxSize: Int
    /// Syslog over TLS (RFC 5425), when a certificate is configured.
    public var tls: LogsTLSSpec?
    /// RELP (acknowledged once stored) on the system address; nil is 2514 for root, else 20514.
    public var relpPort: Int?

    public static let defaultMaxAge = Duration.seconds(30 * 86_400)
    public static let defaultMaxSize = 10 << 30

    public init(port: Int? = nil, maxAge: Duration = defaultMaxAge, maxSize: Int = defaultMaxSize) {
        self.port = port
        self.maxAge = maxAge
        self.maxSize = maxSize
    }
}

/// `logs: tls:` — PEM files (resolved against the manifest's directory) and the port.
public struct LogsTLSSpec: Sendable, Equatable {
    public var certificate: String
    public var key: String
    public var port: Int

    /// RFC 5425's port.
    public static let defaultPort = 6514

    public init(certificate: String, key: String, port: Int = defaultPort) {
        self.certificate = certificate
        self.key = key
        self.port = port
    }
}
