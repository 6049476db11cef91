import NIOSSL
import PostgresNIO
import PyreCore

/// ``PostgresEventStoreConfiguration`` in PostgresNIO's configuration types: for the direct
/// connections (the one that migrates, the one that appends) and for the pool.
struct PostgresConnectionSettings {
    let configuration: PostgresEventStoreConfiguration
    /// nil when TLS is off.
    private let tls: TLSConfiguration?

    /// Every connection commits synchronously, whatever the server's or database's default:
    /// an append is acknowledged only once its commit is on disk.
    static let startupParameters = [("synchronous_commit", "on")]

    init(_ configuration: PostgresEventStoreConfiguration) throws {
        self.configuration = configuration
        switch (configuration.endpoint, configuration.tls) {
        case (.unixSocket, _), (_, .disable):
            tls = nil
        case (.tcp, .prefer), (.tcp, .require):
            // As libpq: these modes encrypt but do not verify the server's certificate.
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .none
            self.tls = tls
        case (.tcp, .verifyFull):
            tls = .makeClientConfiguration()
        }
    }

    static func socketPath(directory: String, port: Int) -> String {
        (directory.hasSuffix("/") ? directory : directory + "/") + ".s.PGSQL.\(port)"
    }

    func connection() throws -> PostgresConnection.Configuration {
        var result: PostgresConnection.Configuration
        switch configuration.endpoint {
        case .tcp(let host, let port):
            let mode: PostgresConnection.Configuration.TLS
            do {
                mode = switch (tls, configuration.tls) {
                case (nil, _): .disable
                case (let tls?, .prefer): .prefer(try NIOSSLContext(configuration: tls))
                case (let tls?, _): .require(try NIOSSLContext(configuration: tls))
                }
            } catch {
                throw PyreError(.events, "cannot set up TLS for the event store at \(configuration): \(error); "
                    + "use ?sslmode=disable for a server without TLS")
            }
            result = .init(host: host, port: port, username: configuration.username,
                           password: configuration.password, database: configuration.database, tls: mode)
        case .unixSocket(let directory, let port):
            result = .init(unixSocketPath: Self.socketPath(directory: directory, port: port),
                           username: configuration.username, password: configuration.password,
                           database: configuration.database)
        }
        result.options.additionalStartupParameters = Self.startupParameters
        return result
    }

    /// The connection for appends (``PostgresAppendConnection``). Its prepared batch
    /// statement must keep one generic plan: the server otherwise plans it again for every
    /// call (about 2 ms here), because a plan made for the batch's actual array sizes always
    /// looks cheaper than the generic one. The other statements keep custom plans on the
    /// pool (a generic `LIMIT $n` read of `$all` may choose a whole-table sort).
    func appendConnection() throws -> PostgresConnection.Configuration {
        var result = try connection()
        result.options.additionalStartupParameters.append(("plan_cache_mode", "force_generic_plan"))
        return result
    }

    /// The pool for reads, snapshots and the position watcher.
    func client() -> PostgresClient.Configuration {
        var result: PostgresClient.Configuration
        switch configuration.endpoint {
        case .tcp(let host, let port):
            let mode: PostgresClient.Configuration.TLS = switch (tls, configuration.tls) {
            case (nil, _): .disable
            case (let tls?, .prefer): .prefer(tls)
            case (let tls?, _): .require(tls)
            }
            result = .init(host: host, port: port, username: configuration.username,
                           password: configuration.password, database: configuration.database, tls: mode)
        case .unixSocket(let directory, let port):
            result = .init(unixSocketPath: Self.socketPath(directory: directory, port: port),
                           username: configuration.username, password: configuration.password,
                           database: configuration.database)
        }
        result.options.additionalStartupParameters = Self.startupParameters
        result.options.maximumConnections = configuration.maximumConnections
        return result
    }
}
