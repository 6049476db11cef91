import Foundation
import Logging
import PyreAWS
import PyreCore
import PyreDeploy
import PyreEvents
import PyreEventsPostgres
import PyreImages
import PyreLocal
import PyreLogs

/// One system's agent: owns the event store, the provider and the reconciler, and carries
/// out what the CLI asks. Every operation re-reads `pyre.yml`, so a deploy always deploys
/// what is on disk.
public actor Agent {
    public let configuration: AgentConfiguration
    public let state: StateDirectory
    public nonisolated let system: String
    /// The system's DNS zone (`hello.pyre.`).
    public nonisolated let zone: String
    /// `.recovery` when the previous agent left servers or a deploy behind, else `.manual`:
    /// the trigger of the deploy `pyre up` starts with.
    public nonisolated let startTrigger: DeployTrigger
    /// The deploy the previous agent was running when it stopped, if any.
    private let interruptedDeployment: Int?
    let logger: Logger
    let store: SQLiteEventStore
    /// The applications' event store, served by the events API.
    let applicationEvents: any EventStore
    /// Where servers reach the events API, and its token.
    public nonisolated let eventsPort: Int
    let eventsToken: String
    let provider: any ServerProvider
    /// Set for `provider: local` (the default).
    let local: LocalProvider?
    /// Set for `provider: aws`.
    let aws: AWSBackend?
    let reconciler: Reconciler
    let images: ImageStore
    let baker: ImageBaker
    let identity: IdentityLayer
    let logs: LogsLayer
    private let lock: AgentLock
    /// What the last successful load of the manifest asked for; the watcher keeps it true.
    private var desired: [DesiredService]?
    /// After `pyre destroy` the watcher must not bring servers back until the next deploy.
    private var stopped = false
    /// Set by a deploy from its first step to its last (baking included).
    private var deploying = false
    /// Set once `shutdown` starts: no new operation is accepted.
    private var shuttingDown = false
    /// Operations the control API started (deploy, verify, destroy), by id.
    private var operations: [UUID: Task<Void, Never>] = [:]

    /// Opens the state directory (taking its lock), replays the agent's history and
    /// reconciles it with what the provider runs: orphans from an earlier agent are destroyed.
    public init(configuration: AgentConfiguration, logger: Logger) async throws {
        let spec = try Manifest.load(directory: configuration.systemDirectory)
        self.configuration = configuration
        self.logger = logger
        self.system = spec.name
        zone = spec.zone
        state = StateDirectory(root: configuration.stateDirectory)
        try state.create()
        lock = try AgentLock(file: state.lockFile)
        store = try SQLiteEventStore(path: state.eventsDatabase)
        applicationEvents = try await Self.openApplicationEvents(spec, state: state, logger: logger)
        eventsPort = spec.events.port
        eventsToken = try state.loadOrCreateEventsToken()
        let journal = AgentJournal(store: store)
        let history = AgentState(replaying: try await journal.replay())
        interruptedDeployment = history.runningDeployment?.number
        startTrigger = history.runningDeployment != nil || !history.liveServers.isEmpty ? .recovery : .manual
        logs = try LogsLayer(spec: spec.logs, directory: state.logs, logger: logger)
        // On AWS, Route 53 serves the names; the agent's own server only answers this
        // machine, on a port of its own choosing.
        let dnsPort = spec.provider == .aws ? 0 : getuid() == 0 ? 53 : Self.unprivilegedDNSPort
        let systemAddress: String
        let probe: any HealthChecker
        let prepared: LocalProvider?
        switch spec.provider {
        case .local:
            var providerConfiguration = LocalProviderConfiguration(system: spec.name, serversDirectory: state.servers,
                                                                   isolation: configuration.isolation)
            if let subnet = configuration.subnet { providerConfiguration.subnet = subnet }
            providerConfiguration.shipOutput = logs.shipOutput
            providerConfiguration.systemServices = Self.systemServices(dnsPort: dnsPort, eventsPort: eventsPort, logs: logs)
            providerConfiguration.hiddenPaths.append(state.root.path)
            let local = try LocalProvider(configuration: providerConfiguration, logger: logger)
            (self.local, aws, provider, probe, prepared) = (local, nil, local, NetworkHealthChecker(), local)
            systemAddress = local.systemAddress
        case .aws:
            let aws = try AWSBackend(spec: spec, logger: logger, environment: configuration.environment)
            (local, self.aws, provider, probe, prepared) = (nil, aws, aws.provider, aws.health, nil)
            // Instances cannot reach this machine's loopback: Route 53 names them; the agent's
            // own DNS and entry points serve this machine.
            systemAddress = "127.0.0.1"
        }
        // From here on, a failure must leave nothing of the system's network on the host.
        do {
            try await prepared?.prepare()
            images = ImageStore(root: state.images)
            baker = ImageBaker(store: images)
            let provider = provider
            let logs = logs
            identity = try IdentityLayer(spec: spec, systemAddress: systemAddress, dnsPort: dnsPort,
                                         listServers: {
                                             let servers = try await provider.list()
                                             logs.update(servers: servers)
                                             return servers
                                         }, logger: logger)
            let identity = identity
            let publisher: any ServerPublisher = if let aws { PublisherChain(publishers: [identity, aws.publisher]) } else { identity }
            reconciler = Reconciler(
                configuration: ReconcilerConfiguration(system: spec.name, zone: spec.zone),
                provider: provider, journal: journal, health: ReplayGate(probe: probe, store: applicationEvents),
                publisher: publisher,
                state: history, logger: logger)
            try await reconciler.recover()
            try await logs.start(host: systemAddress)
            try await identity.start(published: await reconciler.state.liveServers.filter(\.published).map(\.info))
        } catch {
            await Self.abandon(prepared, logs: logs, logger: logger)
            throw error
        }
    }

    /// What servers may reach on the system address: DNS, the events API and syslog (UDP,
    /// TCP and TLS). A new service of the agent's for servers adds its port here.
    static func systemServices(dnsPort: Int, eventsPort: Int, logs: LogsLayer) -> SystemServicePorts {
        SystemServicePorts(tcp: [dnsPort, eventsPort, logs.port, logs.relpPort] + (logs.tls.map { [$0.port] } ?? []),
                           udp: [dnsPort, logs.port])
    }

    /// Undoes a start that failed after the network was prepared: the servers a recovery may
    /// have created go, then the bridge, the guard route and the firewall.
    private static func abandon(_ local: LocalProvider?, logs: LogsLayer, logger: Logger) async {
        guard let local else { return }
        for server in (try? await local.list()) ?? [] { try? await local.destroy(server.id) }
        await logs.stop()
        do {
            try await local.teardown()
        } catch {
            logger.error("could not remove the network of the failed start: \(describe(error))")
        }
    }

    /// `HOST:PORT` of the syslog receiver (`logs.ZONE`), UDP and TCP.
    public nonisolated var syslogAddress: String { "\(identity.systemAddress):\(logs.port)" }

    /// `HOST:PORT` of the RELP receiver (`logs.ZONE`), which acknowledges what it stored.
    public nonisolated var relpAddress: String { "\(identity.systemAddress):\(logs.relpPort)" }

    /// The events API as servers and the host reach it (`events.ZONE` names the same address).
    public nonisolated var eventsURL: String { "http://\(identity.systemAddress):\(eventsPort)" }

    /// The backend `events: store:` names; the agent must restart to change it.
    private static func openApplicationEvents(_ spec: SystemSpec, state: StateDirectory, logger: Logger) async throws
        -> any EventStore {
        switch spec.events.backend {
        case .sqlite:
            return try SQLiteEventStore(path: state.applicationEventsDatabase)
        case .postgres(let url):
            return try await PostgresEventStore.open(try postgresConfiguration(url, of: spec), logger: logger)
        }
    }

    /// A URL PyreCore's manifest reader let through (it does not know PostgreSQL's URL rules)
    /// but that is not one: a manifest error at `events.store`'s line.
    static func postgresConfiguration(_ url: String, of spec: SystemSpec) throws -> PostgresEventStoreConfiguration {
        do {
            return try PostgresEventStoreConfiguration(url: url)
        } catch var error as PyreError {
            error.code = .manifest
            error.location = spec.fieldLocations["events.store"]
            error.field = "events.store"
            throw error
        }
    }

    /// Without root, DNS cannot have port 53 (process mode only).
    static let unprivilegedDNSPort = 5353

    /// Bakes what changed and rolls out the manifest as it is on disk now. Self-healing keeps
    /// what the last *successful* deploy rolled out.
    public func deploy(trigger: DeployTrigger = .manual, progress: @escaping ProgressSink) async throws -> DeploymentRecord {
        // Claimed before the first suspension: two requests arriving together cannot both bake.
        try await checkCanDeploy()
        deploying = true
        defer { deploying = false }
        let spec = try Manifest.load(directory: configuration.systemDirectory)
        let wanted = try await bake(spec, progress: progress)
        if let aws {
            let digests = Dictionary(wanted.map { ($0.spec.image, $0.image) }, uniquingKeysWith: { first, _ in first })
            try await aws.prepare(amis: aws.amis(for: spec, digests: digests))
            await aws.publisher.setStaticRecords(spec.dns.records, defaultTTL: spec.dns.ttl)
        }
        try await identity.configure(spec)
        await identity.setDeployment(await reconciler.state.nextDeploymentNumber)
        let record = try await reconciler.deploy(wanted, trigger: trigger) { event in
            progress(ProgressLine(event))
        }
        if record.outcome == .completed {
            desired = wanted
            stopped = false
            await pruneImages()
        } else if let previous = desired {
            try await removeExtraServers(keeping: previous, progress: progress)
        }
        return record
    }

    /// Fails fast, before a possibly long bake, when a deploy runs already or the agent is
    /// stopping. The control API calls it before answering, so a refusal is a 409.
    public func checkCanDeploy() async throws {
        if shuttingDown {
            throw PyreError(.agent, "the agent is stopping; start it again with `pyre up`, then deploy")
        }
        if deploying {
            throw PyreError(.deployRunning, "a deploy is being prepared (baking); wait for it to finish (`pyre status`), then deploy again")
        }
        // A deploy still "running" in the replayed history died with the previous agent.
        if let running = await reconciler.state.runningDeployment, running.number != interruptedDeployment {
            throw PyreError(.deployRunning, "deploy #\(running.number) is running since \(running.startedAt.formatted(.iso8601)); "
                + "wait for it to finish (`pyre status`), then deploy again")
        }
    }

    /// A failed blue/green rollout can leave new servers that passed their gate next to the
    /// complete old fleet: take those away so the old fleet serves alone, as before the deploy.
    /// A rolling deploy that already replaced old servers is left as it is (fix forward).
    private func removeExtraServers(keeping previous: [DesiredService], progress: @escaping ProgressSink) async throws {
        let plan = try await reconciler.plan(previous)
        guard !plan.isEmpty, plan.services.allSatisfy({ $0.create == 0 }) else { return }
        progress(ProgressLine(.deploy, "removing the failed deploy's servers; the old fleet keeps serving"))
        _ = try await reconciler.deploy(previous, trigger: .recovery) { event in progress(ProgressLine(event)) }
    }

    /// Drops baked images that neither a live server nor the declared services use. Runs
    /// while the deploy still holds `deploying`, so no other deploy's fresh image is taken.
    private func pruneImages() async {
        let live = (try? await provider.list())?.map(\.image) ?? []
        let keep = Set(live).union(desired?.map(\.image) ?? [])
        do {
            try images.prune(keeping: keep)
        } catch {
            logger.warning("could not prune old images: \(error)")
        }
    }

    /// What a deploy would do now, without baking or changing anything.
    public func plan() async throws -> Plan {
        let spec = try Manifest.load(directory: configuration.systemDirectory)
        let wanted = try spec.services.map { service in
            let recipe = spec.image(named: service.image)!
            let digest = try baker.digest(of: recipe)
            return DesiredService(spec: service, recipe: recipe, image: digest,
                                  imagePath: images.image(for: digest)?.root ?? state.images, zone: spec.zone)
        }
        return try await reconciler.plan(wanted)
    }

    /// Bakes every image the manifest's services use; unchanged images are cached.
    public func bake(_ spec: SystemSpec, progress: @escaping ProgressSink) async throws -> [DesiredService] {
        var baked: [String: BakedImage] = [:]
        for recipe in spec.images where spec.services.contains(where: { $0.image == recipe.name }) {
            baked[recipe.name] = try await baker.bake(recipe) { event in
                if let line = ProgressLine(event) { progress(line) }
            }
        }
        return spec.services.map { service in
            let recipe = spec.image(named: service.image)!
            let image = baked[recipe.name]!
            var desired = DesiredService(spec: service, recipe: recipe, image: image.digest, imagePath: image.root, zone: spec.zone)
            // Instances on AWS cannot reach the agent's loopback services.
            guard local != nil else { return desired }
            desired.env["PYRE_DNS"] = identity.dnsAddress
            desired.env["PYRE_EVENTS_URL"] = eventsURL
            desired.env["PYRE_EVENTS_TOKEN"] = eventsToken
            desired.env["PYRE_LOGS"] = syslogAddress
            desired.env["PYRE_LOGS_RELP"] = relpAddress
            return desired
        }
    }

    /// One pass of self-healing and phoenix recreation.
    public func tick(progress: @escaping ProgressSink) async {
        await identity.refresh()
        await aws?.publisher.resync()
        do {
            try logs.store.enforceRetention()
        } catch {
            logger.warning("log retention: \(describe(error))")
        }
        guard let desired, !stopped else { return }
        await reconciler.tick(desired) { event in progress(ProgressLine(event)) }
    }

    /// The system's zone as the DNS server serves it now, in master-file form.
    public func zoneText() async -> String { await identity.zoneText() }

    public func history() async -> [DeploymentRecord] {
        await reconciler.state.deployments
    }

    public func status() async throws -> StatusReport {
        let agentState = await reconciler.state
        let serviceHealth = await reconciler.serviceHealth()
        var healthByServer: [ServerID: Bool] = [:]
        for server in serviceHealth.values.flatMap(\.servers) {
            if case .some(let result) = server.lastResult { healthByServer[server.id] = result.passed }
        }
        let running = try await provider.list()
        var services: [StatusReport.Service] = []
        let names = (desired?.map(\.spec.name) ?? []) + Set(running.map(\.service)).subtracting(desired?.map(\.spec.name) ?? []).sorted()
        for name in names {
            let wanted = desired?.first { $0.spec.name == name }
            let servers = running.filter { $0.service == name }.map { info in
                let record = agentState.servers[info.id]
                let health: String
                switch info.state {
                case .exited: health = "exited"
                case .running:
                    if let known = healthByServer[info.id] { health = known ? "healthy" : "unhealthy" }
                    else { health = record?.healthy == true ? "healthy" : "starting" }
                }
                return StatusReport.Server(id: info.id.rawValue, generation: info.generation, image: info.image.rawValue,
                                           address: info.address, port: info.port, health: health,
                                           published: record?.published ?? false, createdAt: info.createdAt)
            }
            services.append(StatusReport.Service(name: name, count: wanted?.spec.count ?? 0, image: wanted?.image.rawValue,
                                                 crashLooping: serviceHealth[name]?.crashLooping ?? false, servers: servers))
        }
        return StatusReport(system: system, isolation: configuration.isolation.rawValue,
                            runningDeployment: agentState.runningDeployment?.number, services: services)
    }

    /// Re-hashes each server's view of its image; with `replace`, replaces drifted servers
    /// through a normal rollout.
    public func verify(replace: Bool, progress: @escaping ProgressSink) async throws -> VerifyReport {
        var findings: [VerifyReport.Finding] = []
        let servers = try await provider.list()
        // In namespace mode every server of an image views the same directory: hash it once.
        var digests: [URL: ImageDigest] = [:]
        for server in servers {
            guard let view = server.imageView, let image = images.image(for: server.image) else { continue }
            // Hashing a tree takes a while: off the actor, and a server destroyed meanwhile is skipped.
            if digests[view] == nil {
                digests[view] = try? await Task.detached(operation: { try treeDigest(of: view) }).value
            }
            guard let actual = digests[view] else { continue }
            // `image` is the digest status shows (of the image's inputs); what drifts is the
            // digest of its files, labelled as such so the two are never taken for each other.
            if actual != image.contentDigest {
                findings.append(.init(server: server.id.rawValue, image: server.image.rawValue,
                                      expected: image.contentDigest.rawValue, actual: actual.rawValue))
                progress(ProgressLine(.verify, "\(server.id): drifted (image \(server.image.short): files hash to "
                    + "\(actual.short), baked as \(image.contentDigest.short))"))
            } else {
                progress(ProgressLine(.verify, "\(server.id): ok (image \(server.image.short): files hash to "
                    + "\(actual.short), as baked)"))
            }
        }
        var replaced = false
        if replace, !findings.isEmpty {
            guard let desired else {
                throw PyreError(.deploy, "cannot replace drifted servers before a deploy has succeeded; run `pyre deploy`")
            }
            let drifted = Set(findings.map { ServerID($0.server) })
            let record = try await reconciler.deploy(desired, trigger: .drift, replacing: drifted) { event in
                progress(ProgressLine(event))
            }
            replaced = record.outcome == .completed
        }
        return VerifyReport(checked: servers.count, drifted: findings, replaced: replaced)
    }

    /// Destroys every server of the system; persistent data stays. The watcher leaves the
    /// system empty until the next deploy.
    /// `reason` says why in each server's line: "pyre destroy", "the agent is stopping".
    public func destroyAll(reason: String, progress: @escaping ProgressSink) async throws {
        let record = try await reconciler.destroyAll(reason: reason) { event in progress(ProgressLine(event)) }
        stopped = record.outcome == .completed
    }

    /// Runs an operation the control API asked for as a task of the agent's, so that a
    /// shutdown can cancel it and wait for it before destroying the servers.
    public func run(_ operation: @escaping @Sendable () async -> Void) throws -> Task<Void, Never> {
        guard !shuttingDown else {
            throw PyreError(.agent, "the agent is stopping; start it again with `pyre up`")
        }
        let id = UUID()
        let task = Task {
            await operation()
            self.finish(id)
        }
        operations[id] = task
        return task
    }

    private func finish(_ id: UUID) { operations[id] = nil }

    /// Graceful stop: cancel running operations, destroy the servers, tear down the
    /// provider's network, keep persistent data.
    public func shutdown(progress: @escaping ProgressSink) async {
        shuttingDown = true
        while let task = operations.values.first {
            task.cancel()
            await task.value
        }
        do {
            try await destroyAll(reason: "the agent is stopping (persistent data is kept)", progress: progress)
        } catch {
            logger.error("shutdown: \(describe(error))")
        }
        // Whatever the journal does not know about (a create cut short) goes too.
        for server in (try? await provider.list()) ?? [] {
            do {
                try await provider.destroy(server.id)
            } catch {
                logger.error("shutdown: could not destroy \(server.id): \(describe(error))")
            }
        }
        await identity.stop()
        // After the servers are gone, so their last output is stored.
        await logs.stop()
        do {
            try await local?.teardown()
        } catch {
            logger.error("shutdown: \(describe(error))")
        }
        if let postgres = applicationEvents as? PostgresEventStore { await postgres.close() }
        if let sqlite = applicationEvents as? SQLiteEventStore { await sqlite.close() }
        await store.close()
        try? FileManager.default.removeItem(at: state.agentFile)
    }
}

/// The agent's journal is the event store's typed `$pyre-agent` stream.
extension AgentJournal: EventJournal {}
