import Foundation
import Glibc
import Logging
import PyreCore
import PyreImages
import PyrePOSIX
import Synchronization

/// Runs servers on this machine, each kept apart by an ``Isolation``: namespaced sandboxes
/// (``NamespaceIsolation``, root on Linux) or plain processes (``ProcessIsolation``).
///
/// Every server has a directory `serversDirectory/<id>/` holding `server.json` (what
/// ``list()`` reads, so a new provider after an agent restart sees the servers of the old
/// one), `stdout.log` and `stderr.log` (shipped to the log store by ``OutputShipper``) and
/// whatever its isolation keeps there. Each server leads its own session and process group,
/// so destroy reaches every process it started.
public final class LocalProvider: ServerProvider, Sendable {
    public let configuration: LocalProviderConfiguration
    private let logger: Logger
    private let isolation: any Isolation
    private let state = Mutex(MutableState())
    /// Ships servers' output while ``shipOutput()`` runs; nil without `shipOutput`.
    public let outputShipper: OutputShipper?

    private struct MutableState {
        /// Address of each server directory: reading every record on each create would
        /// cost more than the create itself when many start at once.
        var addresses: [String: String] = [:]
        /// Exit statuses of our children, reaped by inspect (a pid can be reaped only once).
        var exitStatuses: [ServerID: Int32] = [:]
    }

    public init(configuration: LocalProviderConfiguration, logger: Logger) throws {
        guard !configuration.system.isEmpty else {
            throw PyreError(.provider, "the local provider needs a system name")
        }
        isolation = try configuration.isolation.isolation(configuration, logger: logger)
        self.configuration = configuration
        self.logger = logger
        outputShipper = configuration.shipOutput.map {
            OutputShipper(serversDirectory: configuration.serversDirectory, sink: $0, logger: logger)
        }
        try FileManager.default.createDirectory(at: configuration.serversDirectory, withIntermediateDirectories: true)
        // The servers' records and output are the agent's alone: servers of another system
        // (as nobody, say) must not read them. A server's own image lies elsewhere.
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: configuration.serversDirectory.path)
        ChildSubreaper.enable(logger: logger)
    }

    /// Makes the host ready for servers (namespace mode: the system's guard route, firewall
    /// and bridge). Idempotent; ``create(_:)`` calls it too.
    public func prepare() async throws {
        // Servers made in the other mode need that mode's teardown: refuse rather than leak them.
        if let other = records().first(where: { $0.isolation != configuration.isolation }) {
            throw PyreError(.provider, "server \(other.info.id) of system \(configuration.system) runs with "
                + "\(other.isolation.rawValue) isolation; start the agent with `--isolation \(other.isolation.rawValue)` "
                + "(it destroys them on Ctrl-C) before switching to \(configuration.isolation.rawValue)")
        }
        try isolation.prepare(servers: records())
    }

    /// Undoes ``prepare()`` (namespace mode: removes the bridge, the guard route and the
    /// firewall); call after every server is destroyed. Idempotent.
    public func teardown() async throws {
        let remaining = records().count
        if remaining > 0 {
            logger.warning("removing the network of system \(configuration.system) while \(remaining) servers remain")
        }
        try isolation.teardown()
    }

    /// The system's own address, where the agent serves DNS and the persistent layer to the
    /// servers: the bridge's in namespace mode, `PREFIX.0.1` (never a server's) in process mode.
    public var systemAddress: String { isolation.systemAddress }

    public func create(_ spec: ServerSpec) async throws -> ServerInfo {
        guard spec.system == configuration.system else {
            throw PyreError(.provider, "server \(spec.id) belongs to system \(spec.system), this provider runs \(configuration.system)")
        }
        guard let image = spec.imageLocation.directory else {
            throw PyreError(.provider, "server \(spec.id)'s image is \(spec.imageLocation), not a directory on this machine; "
                + "the local provider runs images baked here")
        }
        if !isolation.isPrepared { try await prepare() }
        let directory = directory(of: spec.id)
        var record = try reserve(spec, image: image, in: directory)
        do {
            let environment = Self.agentEnvironment.merging(
                ServerEnvironment.variables(for: spec, address: isolation.listenAddress(forServerAt: record.info.address))) { $1 }
            let isolation = isolation
            let pid = try await onOwnThread { [record] in
                let command = try isolation.launchCommand(for: spec, image: image, record: record, directory: directory)
                return try ProcessSpawner.spawn(command.arguments, environment: environment,
                                                workingDirectory: command.workingDirectory.path,
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
        // Where the leader's end ends every process (a PID namespace), only a server whose
        // pid was never recorded can have processes left.
        if isolation.processesCanOutliveTheLeader || (record?.pid ?? 0) == 0 { try await killStrays(of: id) }
        // Its last words go to the log store before its files go.
        await outputShipper?.finish(directory)
        let isolation = isolation
        try await onOwnThread {
            try isolation.release(id, record: record)
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
    private func reserve(_ spec: ServerSpec, image: URL, in directory: URL) throws -> ServerRecord {
        try state.withLock { state in
            guard !FileManager.default.fileExists(atPath: directory.path) else {
                throw PyreError(.provider, "server \(spec.id) exists already; server ids are never reused")
            }
            let taken = Set(currentAddresses(&state).values)
            let free = { (address: String) in
                !taken.contains(address) && self.isolation.canListen(at: address, port: spec.port)
            }
            guard let address = isolation.candidateAddresses().first(where: free) else {
                throw PyreError(.provider, "no free address for server \(spec.id); destroy servers or configure a larger subnet")
            }
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let info = ServerInfo(id: spec.id, service: spec.service, generation: spec.generation, image: spec.image,
                                  configHash: spec.configHash, address: address, port: spec.port, createdAt: Date(),
                                  state: .running)
            let record = isolation.record(of: info, directory: directory, image: image)
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
        isolation.signal(server: record.pid, SIGTERM)
        if try await waitUntilGone(record, within: configuration.stopGracePeriod) { return }
        logger.notice("server \(record.info.id) ignored SIGTERM for \(configuration.stopGracePeriod); sending SIGKILL")
        isolation.signal(server: record.pid, SIGKILL)
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

    /// Polls until every process of the server has ended, then reaps those that are our
    /// children (the leader, and orphans handed to us as subreaper).
    private func waitUntilGone(_ record: ServerRecord, within limit: Duration) async throws -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        var pause = Duration.milliseconds(5)
        while true {
            if processesAreGone(record) { return true }
            if clock.now >= deadline { return false }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, isolation.stopPollCeiling)
        }
    }

    private func processesAreGone(_ record: ServerRecord) -> Bool {
        let processes = isolation.processes(of: record)
        guard processes.allSatisfy(\.isZombie) else { return false }
        reap(processes.map(\.pid) + [record.pid], leader: record)
        return true
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
