import Foundation
import Glibc
import Logging
import PyreCore
import PyreImages
import Synchronization

/// A server in namespaces of its own: its network (``NamespaceNetwork``: a bridge, veth
/// pairs, the firewall) and, through `pyre-sandbox`, mount, PID, UTS and IPC namespaces:
/// a whole-server image as its read-only root (nothing of the host's filesystem in view),
/// or a host-OS image mounted read-only as the working directory with the rest of the host
/// read-only and ``LocalProviderConfiguration/hiddenPaths`` hidden; either way a private
/// `/tmp` and `/dev`, the hostname set to the server id, the command run as an unprivileged
/// user with no capabilities. The server binds `0.0.0.0`; the host reaches it at its veth address.
final class NamespaceIsolation: Isolation {
    let network: NamespaceNetwork
    private let hiddenPaths: [String]
    private let prepared = Mutex(false)

    init(_ configuration: LocalProviderConfiguration, logger: Logger) throws {
        guard getuid() == 0 else {
            throw PyreError(.provider, "namespace isolation needs root; run as root or use --isolation process")
        }
        network = try NamespaceNetwork(system: configuration.system, subnet: IPv4Subnet(configuration.subnet),
                                       services: configuration.systemServices, logger: logger)
        hiddenPaths = configuration.hiddenPaths
    }

    var mode: IsolationMode { .namespaces }

    /// The bridge's address.
    var systemAddress: String { network.bridgeAddress }

    var isPrepared: Bool { prepared.withLock { $0 } }

    /// The guard route, the firewall (letting the servers on disk through) and the bridge.
    func prepare(servers: [ServerRecord]) throws {
        try network.prepare(servers: servers.compactMap { record in
            record.hostInterface.map { network.firewallPort(for: record.info.id, address: record.info.address, hostInterface: $0) }
        })
        prepared.withLock { $0 = true }
    }

    func teardown() throws {
        try network.teardown()
        prepared.withLock { $0 = false }
    }

    func candidateAddresses() -> AnySequence<String> {
        let network = network
        return AnySequence(network.serverOffsets.lazy.map { network.subnet.address(at: $0) })
    }

    /// Each server has the address to itself, in its own network namespace.
    func canListen(at address: String, port: Int) -> Bool { true }

    func listenAddress(forServerAt address: String) -> String { "0.0.0.0" }

    /// Every server of an image views the image itself, mounted read-only.
    func record(of info: ServerInfo, directory: URL, image: URL) -> ServerRecord {
        var info = info
        info.imageView = image
        return ServerRecord(info: info, isolation: mode, pid: 0, startTime: 0,
                            networkNamespace: network.namespaceName(for: info.id),
                            hostInterface: network.hostInterfaceName(for: info.id))
    }

    /// The server's network, then `pyre-sandbox` around its command.
    func launchCommand(for spec: ServerSpec, image: URL, record: ServerRecord, directory: URL) throws -> LaunchCommand {
        try network.setUpServer(spec.id, address: record.info.address)
        let view: SandboxView = if case .root(let root) = spec.imageLocation {
            .imageRoot(root, user: try ImageAccounts(root: root.directory).identity(of: spec.user))
        } else {
            .hostOS(image: image, user: spec.user, hidden: hiddenPaths)
        }
        let arguments = try network.sandboxCommand(for: spec.id, address: record.info.address, view: view,
                                                   port: spec.port, command: spec.command)
        return LaunchCommand(arguments: arguments, workingDirectory: directory)
    }

    /// The server's network namespace, veth pair and firewall entry.
    func release(_ id: ServerID, record: ServerRecord?) throws {
        let hostInterface = record?.hostInterface ?? network.hostInterfaceName(for: id)
        try network.tearDownServer(namespace: record?.networkNamespace ?? network.namespaceName(for: id),
                                   hostInterface: hostInterface,
                                   port: record.map { network.firewallPort(for: id, address: $0.info.address,
                                                                           hostInterface: hostInterface) })
    }

    /// The group holds the outer process, PID 1 and the command. A process that left the
    /// group ends with PID 1, so reading all of /proc (milliseconds per server, many servers
    /// at once) would buy nothing.
    func signal(server leader: pid_t, _ signal: Int32) { kill(-leader, signal) }

    /// The leader is the init of the server's PID namespace: the kernel ends every other
    /// process in it before the leader can exit.
    func processes(of record: ServerRecord) -> [ProcessStatus] {
        guard let leader = ProcessTable.status(of: record.pid), leader.startTime == record.startTime else { return [] }
        return [leader]
    }

    var processesCanOutliveTheLeader: Bool { false }

    var stopPollCeiling: Duration { .milliseconds(20) }
}
