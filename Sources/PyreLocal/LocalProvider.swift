import Foundation
import Glibc
import Logging
import PyreCore
import PyreImages
import Synchronization

/// Runs servers on this machine, as namespaced sandboxes (root on Linux) or plain processes.
///
/// Every server has a directory `serversDirectory/<id>/` holding `server.json` (what
/// ``list()`` reads, so a new provider after an agent restart sees the servers of the old
/// one), `stdout.log` and `stderr.log` (shipped to the log store by ``OutputShipper``) and,
/// in process mode, `root/`, its writable scratch copy of the image. Each server leads its own session and process group, so
/// destroy reaches every process it started.
///
/// - Process mode: the command runs in `root/` with `PYRE_ADDRESS` set to a loopback
///   address of its own, `<loopbackPrefix>.x.y`.
/// - Namespace mode: see ``NamespaceNetwork`` for the network (iproute2: bridge, veth pairs,
///   named network namespaces, an `unreachable` guard route; nftables: anti-spoofing and the
///   host's ports closed but the agent's) and `pyre-sandbox` for the mount, PID, UTS and IPC
///   namespaces: the image mounted read-only as the working directory, a private `/tmp` and
///   `/dev`, the rest of the host read-only with ``LocalProviderConfiguration/hiddenPaths``
///   hidden, the hostname set to the server id, the command run as an unprivileged user
///   with no capabilities. `PYRE_ADDRESS` is `0.0.0.0`; the host reaches the server at its
///   veth address.
public final class LocalProvider: ServerProvider, Sendable {
    public let configuration: LocalProviderConfiguration
    private let logger: Logger
    private let network: NamespaceNetwork?
    private let loopbackPrefix: UInt32
    private let state = Mutex(MutableState())
    /// Ships servers' output while ``shipOutput()`` runs; nil without `shipOutput`.
    public let outputShipper: OutputShipper?

    private struct MutableState {
        /// Address of each server directory: reading every record on each create would
        /// cost more than the create itself when many start at once.
        var addresses: [String: String] = [:]
        /// Exit statuses of our children, reaped by inspect (a pid can be reaped only once).
        var exitStatuses: [ServerID: Int32] = [:]
        var networkPrepared = false
    }

    public init(configuration: LocalProviderConfiguration, logger: Logger) throws {
        guard !configuration.system.isEmpty else {
            throw PyreError(.provider, "the local provider needs a system name")
        }
        let prefix = configuration.loopbackPrefix + ".0.0"
        guard let loopback = IPv4Subnet.parse(prefix), loopback >> 24 == 127 else {
            throw PyreError(.provider, "loopback prefix `\(configuration.loopbackPrefix)` must be two octets in 127/8, such as 127.213")
        }
        self.loopbackPrefix = loopback
        self.configuration = configuration
        self.logger = logger
        outputShipper = configuration.shipOutput.map {
            OutputShipper(serversDirectory: configuration.serversDirectory, sink: $0, logger: logger)
        }
        switch configuration.isolation {
        case .namespaces:
            guard getuid() == 0 else {
                throw PyreError(.provider, "namespace isolation needs root; run as root or use --isolation process")
            }
            network = try NamespaceNetwork(system: configuration.system, subnet: IPv4Subnet(configuration.subnet),
                                           services: configuration.systemServices, logger: logger)
        case .process:
            network = nil
        }
        try FileManager.default.createDirectory(at: configuration.serversDirectory, withIntermediateDirectories: true)
        // The servers' records and output are the agent's alone: servers of another system
        // (as nobody, say) must not read them. A server's own image lies elsewhere.
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: configuration.serversDirectory.path)
        ChildSubreaper.enable(logger: logger)
    }

    /// Namespace mode: creates the system's guard route, firewall and bridge (idempotent;
    /// ``create(_:)`` calls it too). Process mode: nothing.
    public func prepare() async throws {
        // Servers made in the other mode need that mode's teardown: refuse rather than leak them.
        if let other = records().first(where: { $0.isolation != configuration.isolation }) {
            throw PyreError(.provider, "server \(other.info.id) of system \(configuration.system) runs with "
                + "\(other.isolation.rawValue) isolation; start the agent with `--isolation \(other.isolation.rawValue)` "
                + "(it destroys them on Ctrl-C) before switching to \(configuration.isolation.rawValue)")
        }
        guard let network else { return }
        try network.prepare(servers: records().compactMap { record in
            record.hostInterface.map { network.firewallPort(for: record.info.id, address: record.info.address, hostInterface: $0) }
        })
        state.withLock { $0.networkPrepared = true }
    }

    /// Namespace mode: removes the bridge, the guard route and the firewall; call after every
    /// server is destroyed. Idempotent. Process mode: nothing.
    public func teardown() async throws {
        guard let network else { return }
        let remaining = records().count
        if remaining > 0 {
            logger.warning("removing the network of system \(configuration.system) while \(remaining) servers remain")
        }
        try network.teardown()
        state.withLock { $0.networkPrepared = false }
    }

    /// The system's own address, where the agent serves DNS and the persistent layer to the
    /// servers: the bridge's in namespace mode, `PREFIX.0.1` (never a server's) in process mode.
    public var systemAddress: String {
        network?.bridgeAddress ?? IPv4Subnet.format(loopbackPrefix + 1)
    }

    public func create(_ spec: ServerSpec) async throws -> ServerInfo {
        guard spec.system == configuration.system else {
            throw PyreError(.provider, "server \(spec.id) belongs to system \(spec.system), this provider runs \(configuration.system)")
        }
        if network != nil, !state.withLock({ $0.networkPrepared }) { try await prepare() }
        let directory = directory(of: spec.id)
        var record = try reserve(spec, in: directory)
        do {
            let environment = Self.agentEnvironment.merging(
                pyreEnvironment(for: spec, address: network == nil ? record.info.address : "0.0.0.0")) { $1 }
            let network = self.network
            let imagePath = spec.imagePath
            let hidden = configuration.hiddenPaths
            let pid = try await onOwnThread { [record] in
                let arguments: [String]
                let workingDirectory: URL
                if let network {
                    try network.setUpServer(spec.id, address: record.info.address)
                    arguments = try network.sandboxCommand(for: spec.id, address: record.info.address, image: imagePath,
                                                            user: spec.user, port: spec.port, hidden: hidden,
                                                            command: spec.command)
                    workingDirectory = directory
                } else {
                    workingDirectory = directory.appendingPathComponent("root")
                    var isDirectory: ObjCBool = false
                    guard FileManager.default.fileExists(atPath: imagePath.path, isDirectory: &isDirectory),
                          isDirectory.boolValue else {
                        throw PyreError(.provider, "image directory \(imagePath.path) does not exist; bake the image first")
                    }
                    try FileTree.copy(imagePath.path, to: workingDirectory.path, writable: true)
                    arguments = spec.command
                }
                return try ProcessSpawner.spawn(arguments, environment: environment, workingDirectory: workingDirectory.path,
                                                output: .files(stdout: OutputShipper.file(.stdout, in: directory).path,
                                                               stderr: OutputShipper.file(.stderr, in: directory).path),
                                                group: .newSession)
            }
            record.pid = pid
            record.startTime = ProcessTable.status(of: pid)?.startTime ?? 0
            try record.save(in: directory)
            logger.info("created server \(spec.id) at \(record.info.address):\(spec.port) (pid \(pid))")
            return record.info
        } catch {
            logger.error("creating server \(spec.id) failed: \(error)")
            // The clean-up must run to its end even when the deploy is being cancelled.
            try? await Task { try await self.destroy(spec.id) }.value
            throw error
        }
    }

    public func inspect(_ id: ServerID) async throws -> ServerInfo? {
        guard let record = ServerRecord.load(from: directory(of: id)) else { return nil }
        return withCurrentState(record)
    }

    public func list() async throws -> [ServerInfo] {
        records().map(withCurrentState).sorted { $0.id < $1.id }
    }

    public func destroy(_ id: ServerID) async throws {
        let directory = directory(of: id)
        let record = ServerRecord.load(from: directory)
        if let record, record.pid > 0 {
            try await stopProcesses(of: record)
        }
        // In namespace mode the PID namespace ended with the server's PID 1, so only a server
        // whose pid was never recorded can have processes left.
        if network == nil || (record?.pid ?? 0) == 0 { try await killStrays(of: id) }
        // Its last words go to the log store before its files go.
        await outputShipper?.finish(directory)
        let network = self.network
        try await onOwnThread {
            if let network {
                let hostInterface = record?.hostInterface ?? network.hostInterfaceName(for: id)
                try network.tearDownServer(namespace: record?.networkNamespace ?? network.namespaceName(for: id),
                                           hostInterface: hostInterface,
                                           port: record.map { network.firewallPort(for: id, address: $0.info.address,
                                                                                   hostInterface: hostInterface) })
            }
            try FileTree.remove(directory.path)
        }
        _ = state.withLock { $0.exitStatuses.removeValue(forKey: id) }
        if record != nil { logger.info("destroyed server \(id)") }
    }

    /// The end of standard output, then of standard error, where a failure is most likely told.
    public func recentOutput(of id: ServerID, lines: Int) async -> [String] {
        let directory = directory(of: id)
        let stdout = OutputLog.tail(of: OutputShipper.file(.stdout, in: directory), lines: lines)
        let stderr = OutputLog.tail(of: OutputShipper.file(.stderr, in: directory), lines: lines)
        return Array((stdout + stderr).suffix(lines))
    }

    // MARK: - Records and state

    private func directory(of id: ServerID) -> URL {
        configuration.serversDirectory.appendingPathComponent(id.rawValue, isDirectory: true)
    }

    private func records() -> [ServerRecord] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: configuration.serversDirectory.path)) ?? []
        return names.compactMap { ServerRecord.load(from: configuration.serversDirectory.appendingPathComponent($0)) }
    }

    /// Picks the lowest free address and writes the server's first record (pid 0), so even a
    /// half-created server is listed and can be destroyed.
    private func reserve(_ spec: ServerSpec, in directory: URL) throws -> ServerRecord {
        try state.withLock { state in
            guard !FileManager.default.fileExists(atPath: directory.path) else {
                throw PyreError(.provider, "server \(spec.id) exists already; server ids are never reused")
            }
            let taken = Set(currentAddresses(&state).values)
            let free = { (address: String) in
                !taken.contains(address) && (self.network != nil || Self.portIsFree(address, port: spec.port))
            }
            guard let address = candidateAddresses().first(where: free) else {
                throw PyreError(.provider, "no free address for server \(spec.id); destroy servers or configure a larger subnet")
            }
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let imageView = network == nil ? directory.appendingPathComponent("root") : spec.imagePath
            let info = ServerInfo(id: spec.id, service: spec.service, generation: spec.generation, image: spec.image,
                                  configHash: spec.configHash, address: address, port: spec.port, createdAt: Date(),
                                  state: .running, imageView: imageView)
            let record = ServerRecord(info: info, isolation: configuration.isolation, pid: 0, startTime: 0,
                                      networkNamespace: network?.namespaceName(for: spec.id),
                                      hostInterface: network?.hostInterfaceName(for: spec.id))
            try record.save(in: directory)
            state.addresses[spec.id.rawValue] = address
            return record
        }
    }

    /// The addresses of the servers on disk: the cached ones, and records read for
    /// directories that appeared since.
    private func currentAddresses(_ state: inout MutableState) -> [String: String] {
        let names = Set((try? FileManager.default.contentsOfDirectory(atPath: configuration.serversDirectory.path)) ?? [])
        state.addresses = state.addresses.filter { names.contains($0.key) }
        for name in names where state.addresses[name] == nil {
            if let record = ServerRecord.load(from: configuration.serversDirectory.appendingPathComponent(name)) {
                state.addresses[name] = record.info.address
            }
        }
        return state.addresses
    }

    /// Whether a listener could bind `address:port` now: in process mode another system or
    /// program may hold it, and a server that cannot bind would only fail its health gate.
    private static func portIsFree(_ address: String, port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return true }
        defer { close(descriptor) }
        var reuse: Int32 = 1
        setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &reuse, socklen_t(MemoryLayout<Int32>.size))
        var socketAddress = sockaddr_in()
        socketAddress.sin_family = sa_family_t(AF_INET)
        socketAddress.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, address, &socketAddress.sin_addr) == 1 else { return true }
        return withUnsafePointer(to: &socketAddress) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
    }

    private func candidateAddresses() -> LazyMapSequence<ClosedRange<UInt32>, String> {
        if let network {
            return network.serverOffsets.lazy.map { network.subnet.address(at: $0) }
        }
        let base = loopbackPrefix
        return (UInt32(2)...0xfffe).lazy.map { IPv4Subnet.format(base + $0) }
    }

    private func withCurrentState(_ record: ServerRecord) -> ServerInfo {
        var info = record.info
        info.state = currentState(of: record)
        return info
    }

    /// Running while the recorded process lives (same start time, not a zombie). Our own
    /// children are reaped here and report their exit status; a server whose process is gone
    /// and was not our child (created before an agent restart) reports status -1.
    private func currentState(of record: ServerRecord) -> ServerInfo.State {
        let id = record.info.id
        if let status = state.withLock({ $0.exitStatuses[id] }) { return .exited(status: status) }
        guard record.pid > 0, let process = ProcessTable.status(of: record.pid),
              process.startTime == record.startTime else { return .exited(status: -1) }
        var status: Int32 = 0
        switch waitpid(record.pid, &status, WNOHANG) {
        case record.pid:
            let exitStatus = ProcessSpawner.decode(status)
            state.withLock { $0.exitStatuses[id] = exitStatus }
            return .exited(status: exitStatus)
        case 0:
            return .running
        default:
            return process.isZombie ? .exited(status: -1) : .running
        }
    }

    // MARK: - Stopping

    /// SIGTERM to every process group of the server's session, SIGKILL after the grace
    /// period, then waits until none is left.
    private func stopProcesses(of record: ServerRecord) async throws {
        let leader = ProcessTable.status(of: record.pid)
        // A leader with another start time means the pid was reused: while any process of
        // ours held the id as its group or session, the kernel could not have reused it.
        if let leader, leader.startTime != record.startTime { return }
        signalServer(record.pid, SIGTERM)
        if try await waitUntilGone(record, within: configuration.stopGracePeriod) { return }
        logger.notice("server \(record.info.id) ignored SIGTERM for \(configuration.stopGracePeriod); sending SIGKILL")
        signalServer(record.pid, SIGKILL)
        guard try await waitUntilGone(record, within: .seconds(10)) else {
            throw PyreError(.provider, "processes of server \(record.info.id) survived SIGKILL; check for processes in uninterruptible sleep (ps -s \(record.pid))")
        }
    }

    /// Kills processes of the server that its record does not name: an agent killed between
    /// starting a server and recording its pid leaves such a server behind.
    private func killStrays(of id: ServerID) async throws {
        let marks = ["PYRE_SYSTEM=\(configuration.system)", "PYRE_SERVER=\(id.rawValue)"]
        let deadline = ContinuousClock.now + .seconds(10)
        while case let strays = ProcessTable.processes(withEnvironment: marks), !strays.isEmpty {
            guard ContinuousClock.now < deadline else {
                throw PyreError(.provider, "processes of server \(id) survived SIGKILL: \(strays.map(\.pid))")
            }
            for stray in strays {
                kill(-stray.group, SIGKILL)
                kill(stray.pid, SIGKILL)
                var status: Int32 = 0
                _ = waitpid(stray.pid, &status, WNOHANG)
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    private func signalServer(_ session: pid_t, _ signal: Int32) {
        // Namespace mode: the group holds the outer process, PID 1 and the command. A process
        // that left the group ends with PID 1, so reading all of /proc (milliseconds per
        // server, many servers at once) would buy nothing.
        guard network == nil else { kill(-session, signal); return }
        let live = ProcessTable.members(ofSessionOrGroup: session).filter { !$0.isZombie }
        for group in Set(live.map(\.group)).union([session]) { kill(-group, signal) }
    }

    /// Polls until every process of the server has ended, then reaps those that are our
    /// children (the leader, and orphans handed to us as subreaper).
    private func waitUntilGone(_ record: ServerRecord, within limit: Duration) async throws -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        var pause = Duration.milliseconds(5)
        while true {
            if network == nil ? sessionIsGone(record) : namespaceInitIsGone(record) { return true }
            if clock.now >= deadline { return false }
            try await Task.sleep(for: pause)
            // Process mode reads all of /proc on each poll: back off so many destroys stay cheap.
            pause = min(pause * 2, network == nil ? .milliseconds(100) : .milliseconds(20))
        }
    }

    private func sessionIsGone(_ record: ServerRecord) -> Bool {
        let members = ProcessTable.members(ofSessionOrGroup: record.pid)
        guard members.allSatisfy(\.isZombie) else { return false }
        reap(members.map(\.pid) + [record.pid], leader: record)
        return true
    }

    /// In namespace mode the leader is the init of the server's PID namespace: the kernel
    /// ends every other process in it before the leader can exit, so the leader's state tells.
    private func namespaceInitIsGone(_ record: ServerRecord) -> Bool {
        if case .exited = currentState(of: record) { return true }
        return false
    }

    private func reap(_ pids: [pid_t], leader record: ServerRecord) {
        for pid in Set(pids) {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == record.pid {
                let exitStatus = ProcessSpawner.decode(status)
                state.withLock { $0.exitStatuses[record.info.id] = exitStatus }
            }
        }
    }

    /// PATH, HOME and LANG of the agent, which the manifest's environment may override.
    private static var agentEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.filter { ["PATH", "HOME", "LANG"].contains($0.key) }
    }
}
