import Foundation
import Logging
import PyreCore

/// Runs deployments on a ``ServerProvider``: plans, rolls out, heals and recovers. Every step
/// is recorded in the journal before the next one starts, and ``state`` is the fold of those
/// events.
public actor Reconciler {
    let configuration: ReconcilerConfiguration
    let provider: any ServerProvider
    let journal: any EventJournal
    let publisher: any ServerPublisher
    let worker: RolloutWorker
    let logger: Logger

    /// The fold of every event recorded so far.
    public internal(set) var state: AgentState
    /// The deploy this agent runs now; a lock that dies with the agent.
    var active: (number: Int, since: Date)?
    var healthTracks: [ServerID: ServerHealth] = [:]
    var healStreaks: [String: HealStreak] = [:]
    /// How many times in a row the slot a live server fills has failed before it: absent for
    /// a server a deploy created, n for the heal's replacement of a server whose slot had
    /// failed n times (see ``serviceHealth()``).
    var slotFailures: [ServerID: Int] = [:]

    /// - Parameter state: the agent's state replayed from its journal.
    public init(configuration: ReconcilerConfiguration, provider: any ServerProvider, journal: any EventJournal,
                health: any HealthChecker, publisher: any ServerPublisher = NoopPublisher(),
                logCensus: (any LogCensus)? = nil, state: AgentState, logger: Logger) {
        self.configuration = configuration
        self.provider = provider
        self.journal = journal
        self.publisher = publisher
        self.worker = RolloutWorker(provider: provider, health: health, publisher: publisher, logCensus: logCensus,
                                    outputLines: configuration.failureOutputLines,
                                    gateProgressInterval: configuration.gateProgressInterval)
        self.state = state
        self.logger = logger
    }

    /// What a deploy of `desired` would do now.
    public func plan(_ desired: [DesiredService]) async throws -> Plan {
        let servers = try await listServers()
        return Planner.plan(desired: desired, observed: observe(servers, desired: desired), now: Date())
    }

    /// Plans against what the provider reports and rolls the plan out. Returns the deployment's
    /// record; a deploy whose new servers failed their gate returns with outcome `.failed`.
    /// Throws `deployRunning` while another deploy runs, and when the journal cannot record.
    /// Servers in `replacing` (drifted ones, from `pyre verify --replace`) are replaced even
    /// when otherwise up to date. `release`, when given, is recorded as what the deployment
    /// rolls out (see ``AgentState/releases``); `rollingBack` names the failed deployment this
    /// one undoes.
    public func deploy(_ desired: [DesiredService], trigger: DeployTrigger, release: Release? = nil,
                       options: RolloutOptions = .gatesOnly, rollingBack: Int? = nil, replacing: Set<ServerID> = [],
                       progress: @escaping @Sendable (DeployProgress) -> Void) async throws -> DeploymentRecord {
        try await deploy(desired, trigger: trigger, only: nil, release: release, options: options,
                         rollingBack: rollingBack, replacing: replacing, progress: progress)
    }

    /// Destroys every server, as a deploy of nothing; `reason` (such as "pyre destroy") says
    /// why in the plan and in each server's destroyed line.
    public func destroyAll(reason: String, progress: @escaping @Sendable (DeployProgress) -> Void) async throws
        -> DeploymentRecord {
        try await deploy([], trigger: .manual, only: nil, removal: reason, progress: progress)
    }

    /// Records `events` durably, then folds them into ``state``.
    func record(_ events: [AgentEvent]) async throws {
        try await journalOnly(events)
        for event in events { state.apply(event) }
    }

    /// Records `events` durably without folding them (the caller folded them already).
    func journalOnly(_ events: [AgentEvent]) async throws {
        guard !events.isEmpty else { return }
        do {
            try await journal.record(events)
        } catch {
            throw PyreError(.events, "could not record \(events[0].typeName) in the agent's journal: \(error); "
                + "the step did not happen. Check the event store, then restart the agent to converge")
        }
    }

    func listServers() async throws -> [ServerInfo] {
        do {
            return try await provider.list()
        } catch {
            throw PyreError(.provider, "could not list the servers: \(error); check the provider and retry")
        }
    }

    /// Servers the agent knows as live, as the provider reports them, with their health.
    func observe(_ servers: [ServerInfo], desired: [DesiredService]) -> [ObservedServer] {
        var failureLimits: [String: Int] = [:]
        for service in desired { failureLimits[service.spec.name] = service.spec.health.failures }
        return servers.compactMap { info in
            guard let record = state.servers[info.id], !record.destroyed else { return nil }
            let track = healthTracks[info.id]
            let healthy = track?.lastResult.map(\.passed) ?? (record.healthy ? true : nil)
            let failing = (track?.consecutiveFailures ?? 0) >= (failureLimits[info.service] ?? .max)
            var info = info
            info.config = record.info.config
            return ObservedServer(info: info, healthy: healthy, failing: failing)
        }
    }

    /// Servers the agent knows as live but the provider no longer runs are recorded destroyed.
    /// Returns them by service.
    func forgetVanished(_ servers: [ServerInfo]) async throws -> [String: [ServerID]] {
        let running = Set(servers.map(\.id))
        let vanished = state.liveServers.filter { !running.contains($0.info.id) }
        guard !vanished.isEmpty else { return [:] }
        let now = Date()
        var events: [AgentEvent] = []
        var perService: [String: [ServerID]] = [:]
        for record in vanished {
            if record.published {
                await publisher.unpublish([record.info.id])
                events.append(.serverUnpublished(id: record.info.id, reason: "vanished", at: now))
            }
            events.append(.serverDestroyed(id: record.info.id, reason: "vanished", at: now))
            perService[record.info.service, default: []].append(record.info.id)
            healthTracks[record.info.id] = nil
        }
        logger.warning("servers vanished from the provider", metadata: ["servers": "\(vanished.map(\.info.id))"])
        try await record(events)
        return perService
    }
}
