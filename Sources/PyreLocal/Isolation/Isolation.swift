import Foundation
import Glibc
import Logging
import PyreCore

/// How ``LocalProvider`` keeps one server apart from the host and from its siblings: where
/// its command runs, which addresses servers take, and how its processes end. The provider
/// keeps the records, the output and the reaping for every kind.
protocol Isolation: Sendable {
    var mode: IsolationMode { get }

    /// Where the agent serves DNS, the events API and syslog to the servers.
    var systemAddress: String { get }

    /// Whether the host is ready for servers (``prepare(servers:)`` ran since the last
    /// ``teardown()``).
    var isPrepared: Bool { get }

    /// Makes the host ready for servers; `servers` are those already on disk. Idempotent.
    func prepare(servers: [ServerRecord]) throws

    /// Undoes ``prepare(servers:)``; called after every server is gone. Idempotent.
    func teardown() throws

    /// The addresses a new server may take, lowest first.
    func candidateAddresses() -> AnySequence<String>

    /// Whether a new server can listen on `address:port` now.
    func canListen(at address: String, port: Int) -> Bool

    /// `PYRE_ADDRESS`: what a server at `address` binds to.
    func listenAddress(forServerAt address: String) -> String

    /// A new server's record before it runs: what it views as its image (baked at `image`),
    /// and the names of what the isolation creates for it.
    func record(of info: ServerInfo, directory: URL, image: URL) -> ServerRecord

    /// Sets up what the server's command needs on its image (blocking: call it off the
    /// cooperative pool) and returns how to start it; the provider spawns it.
    func launchCommand(for spec: ServerSpec, image: URL, record: ServerRecord, directory: URL) throws -> LaunchCommand

    /// Removes what ``launchCommand(for:image:record:directory:)`` set up around the server
    /// (blocking). `record` is nil when the server's record was never written or is lost.
    func release(_ id: ServerID, record: ServerRecord?) throws

    /// Sends `signal` to every process of the server whose session leader is `leader`.
    func signal(server leader: pid_t, _ signal: Int32)

    /// The server's processes that must all have ended (be zombies or gone) before it is:
    /// the leader's whole session, or only the leader when its exit ends every other.
    func processes(of record: ServerRecord) -> [ProcessStatus]

    /// Whether a process of the server can outlive its leader, so that destroying it must
    /// also look for strays by their `PYRE_SERVER` mark.
    var processesCanOutliveTheLeader: Bool { get }

    /// The longest pause between two polls while waiting for a server's processes to end.
    var stopPollCeiling: Duration { get }
}

/// A server's command line and the directory it starts in.
struct LaunchCommand {
    var arguments: [String]
    var workingDirectory: URL
}

extension IsolationMode {
    /// The isolation of this mode for the provider's configuration.
    func isolation(_ configuration: LocalProviderConfiguration, logger: Logger) throws -> any Isolation {
        switch self {
        case .process: try ProcessIsolation(configuration, logger: logger)
        case .namespaces: try NamespaceIsolation(configuration, logger: logger)
        }
    }
}
