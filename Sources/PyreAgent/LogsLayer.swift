import Foundation
import Logging
import PyreCore
import PyreLocal
import PyreLogs
import Synchronization

/// The central log store of one system and what feeds it: the syslog receiver on
/// `logs.ZONE` and the provider's shipping of servers' output. Records of syslog senders
/// whose address is a server's are attributed to that server.
final class LogsLayer: Sendable {
    let store: LogStore
    let writer: LogWriter
    /// The receiver's port on the system address.
    let port: Int
    /// The RELP receiver's port on the system address.
    let relpPort: Int
    let tls: LogsTLSSpec?
    /// Servers across a network send over TLS to its address; the other listeners stay on loopback.
    private let network: NetworkTLS?
    private let receiver = Mutex<SyslogReceiver?>(nil)
    private let origins = OriginTable()
    private let logger: Logger

    /// With `network`, syslog over TLS is served on its address with its certificate, on
    /// `networkTLSPort` (RFC 5425's 6514 by default).
    init(spec: LogsSpec, directory: URL, network: NetworkTLS? = nil, networkTLSPort: Int? = nil, logger: Logger) throws {
        store = try LogStore(configuration: LogStoreConfiguration(directory: directory, maxAge: spec.maxAge,
                                                                  maxBytes: spec.maxSize))
        writer = LogWriter(store: store, logger: logger)
        port = spec.port ?? (getuid() == 0 ? 514 : Self.unprivilegedPort)
        relpPort = spec.relpPort ?? (getuid() == 0 ? 2514 : Self.unprivilegedRELPPort)
        tls = network.map {
            LogsTLSSpec(certificate: $0.certificatePath, key: $0.keyPath, port: networkTLSPort ?? LogsTLSSpec.defaultPort)
        } ?? spec.tls
        self.network = network
        self.logger = logger
    }

    /// Where UDP, TCP and RELP listen, given the system address: there, or the loopback when
    /// servers send across a network (over TLS only).
    func plainHost(on systemAddress: String) -> String { network == nil ? systemAddress : "127.0.0.1" }

    /// Without root, syslog cannot have port 514.
    static let unprivilegedPort = 5514
    /// Without root, RELP takes librelp's default port, as 5514 stands beside 514.
    static let unprivilegedRELPPort = 20514

    /// What the provider hands servers' output lines to; returns once they are committed.
    var shipOutput: OutputShipper.Sink {
        { [writer] records in _ = try await writer.commit(records, from: .output) }
    }

    /// Starts the writer and the syslog receiver on `host` (the system address); with a network,
    /// only TLS is served there.
    func start(host: String) async throws {
        writer.start()
        let plainHost = plainHost(on: host)
        let receiver = SyslogReceiver(
            configuration: .init(host: plainHost, port: port, tls: tls.map {
                SyslogTLSConfiguration(certificatePath: $0.certificate, keyPath: $0.key, port: $0.port,
                                       host: network == nil ? nil : host)
            }, relpPort: relpPort), writer: writer,
            origin: { [origins] address in origins.lookup(address) }, logger: logger)
        do {
            try await receiver.start()
        } catch {
            if let error = error as? PyreError { throw error }
            throw PyreError(.agent, "cannot receive syslog on \(host):\(port)\(tls.map { " (TLS: \($0.port))" } ?? "") "
                + "(RELP: \(relpPort)): \(error); stop what holds the port or set another with logs: { port: N, relp_port: N } in pyre.yml")
        }
        self.receiver.withLock { $0 = receiver }
    }

    /// Takes up the servers the provider runs now, for attributing syslog senders.
    func update(servers: [ServerInfo]) {
        let byAddress = Dictionary(servers.map {
            ($0.address, LogOrigin(service: $0.service, server: $0.id.rawValue, generation: $0.generation))
        }, uniquingKeysWith: { first, _ in first })
        origins.replace(with: byAddress)
    }

    /// Stops receiving, then commits what was received and closes the store.
    func stop() async {
        await receiver.withLock { receiver in defer { receiver = nil }; return receiver }?.stop()
        writer.stop()
        store.close()
    }
}

/// Servers by address, read by the receiver's event loops and replaced on every refresh.
private final class OriginTable: Sendable {
    private let table = Mutex<[String: LogOrigin]>([:])

    func lookup(_ address: String) -> LogOrigin? { table.withLock { $0[address] } }
    func replace(with origins: [String: LogOrigin]) { table.withLock { $0 = origins } }
}

/// A release's error gate counts what the central store holds, stdout, stderr and syslog alike.
extension LogsLayer: LogCensus {
    func census(service: String, servers: Set<ServerID>, since: Date) async -> ErrorCensus {
        let from = LogRecord.microseconds(since)
        func count(_ server: String?, errorsOnly: Bool) -> Int {
            let query = LogQuery(since: from, service: service, server: server, severity: errorsOnly ? .err : nil)
            do {
                return try store.count(query)
            } catch {
                logger.warning("error gate: could not count log records: \(error)")
                return 0
            }
        }
        var records = 0
        var errors = 0
        for id in servers {
            records += count(id.rawValue, errorsOnly: false)
            errors += count(id.rawValue, errorsOnly: true)
        }
        let allRecords = count(nil, errorsOnly: false)
        let allErrors = count(nil, errorsOnly: true)
        return ErrorCensus(records: records, errors: errors, otherRecords: allRecords - records,
                           otherErrors: allErrors - errors)
    }
}
