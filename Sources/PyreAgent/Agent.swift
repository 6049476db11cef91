import Foundation
import Logging
import PyreAPI
import PyreCore
import PyreManifest
import PyreDeploy
import PyreEvents
import PyreImages
import PyreLogs
import PyreProgress

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
    /// What of pyre.yml the agent took up when it started; a deploy cannot change it.
    let runtime: RuntimeSpec
    let logger: Logger
    let store: SQLiteEventStore
    /// The applications' event store, served by the events API.
    let applicationEvents: any EventStore
    /// Where servers reach the events API, and its token.
    public nonisolated let eventsPort: Int
    let eventsToken: String
    /// What the servers run on: this machine or a cloud.
    let backend: any SystemBackend
    var provider: any ServerProvider { backend.provider }
    let reconciler: Reconciler
    let images: ImageStore
    let baker: ImageBaker
    let identity: IdentityLayer
    let logs: LogsLayer
    /// Where and with what TLS servers across a network reach the agent's services (provider aws).
    nonisolated let network: NetworkTLS?
    /// What `GET /metrics` serves.
    nonisolated let metrics = AgentMetrics()
    /// Every health probe goes through it: timed for the metrics, the last one kept per server.
    nonisolated let health: MeasuredHealthChecker
    private let statusReporter: StatusReporter
    private let driftChecker: DriftChecker
    private let lock: AgentLock
    /// What the last successful load of the manifest asked for; the watcher keeps it true.
    var desired: [DesiredService]?
    /// After `pyre destroy` the watcher must not bring servers back until the next deploy.
    var stopped = false
    /// Set by a deploy from its first step to its last (baking included).
    var deploying = false
    /// Set once `shutdown` starts: no new operation is accepted.
    private var shuttingDown = false
    /// Operations the control API started (deploy, verify, destroy), by id.
    private var operations: [UUID: Task<Void, Never>] = [:]

    /// Opens the state directory (taking its lock) and the stores, replays the agent's
    /// history and builds its parts; nothing connects, listens or changes on the host until
    /// its services run (``AgentRunner``).
    public init(configuration: AgentConfiguration, logger: Logger) async throws {
        try await self.init(configuration: configuration, logger: logger, backend: SystemBackends.standard)
    }

    /// As ``init(configuration:logger:)``, with the system's backend made by `makeBackend`.
    init(configuration: AgentConfiguration, logger: Logger, backend makeBackend: BackendFactory) async throws {
        let spec = try Manifest.load(directory: configuration.systemDirectory)
        self.configuration = configuration
        self.logger = logger
        self.system = spec.name
        zone = spec.zone
        runtime = spec.runtime
        state = StateDirectory(root: configuration.stateDirectory)
        try state.create()
        lock = try AgentLock(file: state.lockFile)
        store = try SQLiteEventStore(path: state.eventsDatabase)
        applicationEvents = try ApplicationEvents.make(spec, state: state, logger: logger)
        eventsPort = spec.events.port
        eventsToken = try state.loadOrCreateEventsToken()
        let journal = AgentJournal(store: store)
        let history = AgentState(replaying: try await journal.replay())
        interruptedDeployment = history.runningDeployment?.number
        startTrigger = history.runningDeployment != nil || !history.liveServers.isEmpty ? .recovery : .manual
        let network = spec.provider == .aws ? try NetworkTLS.prepare(spec, state: state) : nil
        self.network = network
        logs = try LogsLayer(spec: spec.logs, directory: state.logs, network: network,
                             networkTLSPort: spec.aws.syslogTLSPort, logger: logger)
        let backend = try makeBackend(BackendContext(spec: spec, configuration: configuration, state: state, logs: logs,
                                                     network: network, logger: logger))
        self.backend = backend
        images = ImageStore(root: state.images)
        baker = ImageBaker(store: images, layers: configuration.layerCache.map(LayerStore.init(root:)) ?? .machineDefault())
        driftChecker = DriftChecker(provider: backend.provider, images: images)
        let provider = backend.provider
        let logs = logs
        let health = MeasuredHealthChecker(backend.health, metrics: metrics)
        self.health = health
        identity = try IdentityLayer(spec: spec, systemAddress: backend.systemAddress, dnsPort: backend.dnsPort,
                                     listServers: {
                                         let servers = try await provider.list()
                                         logs.update(servers: servers)
                                         health.keepOnly(servers)
                                         return servers
                                     }, logger: logger)
        let publisher: any ServerPublisher = if let other = backend.publisher {
            PublisherChain(publishers: [identity, other])
        } else {
            identity
        }
        reconciler = Reconciler(
            configuration: ReconcilerConfiguration(system: spec.name, zone: spec.zone),
            provider: provider, journal: journal, health: ReplayGate(probe: health, store: applicationEvents),
            publisher: publisher, logCensus: logs,
            state: history, logger: logger)
        statusReporter = StatusReporter(system: spec.name, isolation: configuration.isolation.rawValue,
                                        provider: provider, reconciler: reconciler)
    }

    /// Reconciles the history with what the provider runs: orphans of an earlier agent, and
    /// servers an interrupted deploy had not published, are destroyed; the rest are published again.
    func recover() async throws {
        try await reconciler.recover()
    }

    /// After a recovery failed: the servers it could not account for must not outlive the agent.
    func destroyUnrecordedServers() async {
        for server in (try? await provider.list()) ?? [] {
            do {
                try await provider.destroy(server.id)
            } catch {
                logger.error("could not destroy \(server.id): \(describe(error))")
            }
        }
    }

    /// `HOST:PORT` of the syslog receiver (`logs.ZONE`), UDP and TCP.
    public nonisolated var syslogAddress: String { "\(logs.plainHost(on: identity.systemAddress)):\(logs.port)" }

    /// `HOST:PORT` of the RELP receiver (`logs.ZONE`), which acknowledges what it stored.
    public nonisolated var relpAddress: String { "\(logs.plainHost(on: identity.systemAddress)):\(logs.relpPort)" }

    /// The events API as servers and the host reach it (`events.ZONE` names the same address);
    /// over TLS for servers across a network.
    public nonisolated var eventsURL: String {
        "\(network == nil ? "http" : "https")://\(identity.systemAddress):\(eventsPort)"
    }

    /// `HOST:PORT` of syslog over TLS on the system address, if it is served.
    nonisolated var syslogTLSAddress: String? { logs.tls.map { "\(identity.systemAddress):\($0.port)" } }

    /// Bakes what changed and rolls out the manifest as it is on disk now, judged by its
    /// canaries and watches; a release that fails them is rolled back (``rollBack(_:to:progress:)``).
    /// Self-healing keeps what the last *successful* deploy rolled out. A recovery after the
    /// agent stopped in the middle of a rollback finishes that rollback instead.
    public func deploy(trigger: DeployTrigger = .manual, options: RolloutOptions = RolloutOptions(),
                       progress: @escaping ProgressSink) async throws -> DeploymentRecord {
        // Claimed before the first suspension: two requests arriving together cannot both bake.
        try await checkCanDeploy()
        deploying = true
        defer { deploying = false }
        if trigger == .recovery, let unfinished = await reconciler.state.unfinishedRollback {
            progress(.notice(message: "finishing the rollback to deployment #\(unfinished.number) that the agent's stop "
                + "cut short; `pyre deploy` deploys pyre.yml again"))
            return try await restore(unfinished, rollingBack: nil, progress: progress)
        }
        let (spec, text) = try loadWorkloadAndText()
        let wanted = try await bake(spec, progress: progress)
        var images: [String: ImageDigest] = [:]
        for (service, baked) in zip(spec.services, wanted) { images[service.image] = baked.image }
        return try await rollOutAndSettle(wanted, of: spec, trigger: trigger,
                                          release: Release(manifest: text, images: images), options: options,
                                          progress: progress)
    }

    /// Rolls a new release out, then: keeps it when it completed; rolls back to the release
    /// before it when the release itself failed (a canary, a watch) and every service allows
    /// it; otherwise takes away what a failed blue/green rollout left beside the old fleet.
    func rollOutAndSettle(_ wanted: [DesiredService], of spec: SystemSpec, trigger: DeployTrigger, release: Release,
                          options: RolloutOptions, progress: @escaping ProgressSink) async throws -> DeploymentRecord {
        let current = await reconciler.state.currentRelease
        let record = try await roll(out: wanted, of: spec, trigger: trigger, release: release, options: options,
                                    progress: progress)
        switch record.outcome {
        case .completed:
            desired = wanted
            stopped = false
            await pruneImages()
        case .failed where record.releaseFailed && spec.services.allSatisfy(\.strategy.autoRollback) && current != nil:
            return await rollBack(record, to: current!, progress: progress)
        case .paused:
            break
        default:
            if let previous = desired { try await removeExtraServers(keeping: previous, progress: progress) }
        }
        return record
    }

    /// Points the backend and the identity layer at `spec` and rolls `wanted` out.
    func roll(out wanted: [DesiredService], of spec: SystemSpec, trigger: DeployTrigger, release: Release,
              options: RolloutOptions, rollingBack: Int? = nil, progress: @escaping ProgressSink) async throws
        -> DeploymentRecord {
        try await backend.prepareDeploy(spec, services: wanted)
        try await identity.configure(spec)
        await identity.setDeployment(await reconciler.state.nextDeploymentNumber)
        return try await reconciler.deploy(wanted, trigger: trigger, release: release, options: options,
                                           rollingBack: rollingBack) { event in
            progress(ProgressEvent(event))
        }
    }

    /// pyre.yml as it is on disk now, refused when it changes what the agent took up at
    /// start: that would be silently ignored until the next `pyre up`.
    private func loadWorkload() throws -> SystemSpec {
        try loadWorkloadAndText().spec
    }

    /// As ``loadWorkload()``, with the text a release records.
    private func loadWorkloadAndText() throws -> (spec: SystemSpec, text: String) {
        let (spec, text) = try Manifest.read(file: configuration.systemDirectory.appendingPathComponent(Manifest.fileName))
        try checkRuntimeUnchanged(spec)
        try backend.validate(spec)
        return (spec, text)
    }

    /// Refuses a manifest that changes what the agent took up when it started.
    func checkRuntimeUnchanged(_ spec: SystemSpec) throws {
        let changed = spec.runtime.changedSections(from: runtime)
        guard changed.isEmpty else {
            throw PyreError(.manifest, "restart the agent to apply: \(changed.joined(separator: ", ")) "
                + "(read only when the agent starts: stop `pyre up` with Ctrl-C, which destroys the servers and keeps "
                + "persistent data, and start it again), or undo the change to deploy the rest")
        }
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
        progress(.removingFailedServers)
        _ = try await reconciler.deploy(previous, trigger: .recovery) { event in progress(ProgressEvent(event)) }
    }

    /// Drops baked images that neither a live server, the declared services nor the last
    /// `keptDeployments` deployments use. Runs while the deploy still holds `deploying`, so
    /// no other deploy's fresh image is taken.
    func pruneImages() async {
        do {
            try images.prune(keeping: try await imagesToKeep(lastDeployments: configuration.keptDeployments))
        } catch {
            logger.warning("could not prune old images: \(describe(error))")
        }
    }

    /// What the provider runs, what the declared services use, and what the journal says
    /// the live servers and the last `count` deployments ran.
    private func imagesToKeep(lastDeployments count: Int) async throws -> Set<ImageDigest> {
        let live = try await provider.list().map(\.image)
        return Set(live).union(desired?.map(\.image) ?? [])
            .union(await reconciler.state.imagesToKeep(lastDeployments: count))
    }

    /// `pyre image gc`: removes this system's images that neither live servers, the declared
    /// services nor the last `deployments` deployments use, then the layers of the machine's
    /// cache no image of any system uses. Refused while a deploy runs (its fresh image is in
    /// no deployment yet).
    public func collectImages(keepingDeployments deployments: Int) async throws -> ImageCollector.Result {
        try await checkCanDeploy()
        deploying = true
        defer { deploying = false }
        let keep = try await imagesToKeep(lastDeployments: deployments)
        let collector = ImageCollector(store: images, layers: baker.layers)
        // Walks and removes trees: off the actor, so status and logs answer meanwhile.
        return try await Task.detached { try collector.collect(keeping: keep) }.value
    }

    /// What a deploy would do now, without baking or changing anything.
    public func plan() async throws -> Plan {
        let spec = try loadWorkload()
        var digests: [String: ImageDigest] = [:]
        for recipe in spec.imagesInUse { digests[recipe.name] = try baker.digest(of: recipe) }
        // Where an image not baked yet will be does not change the plan.
        return try await reconciler.plan(desiredServices(spec, images: digests) { recipe, digest in
            (try? backend.imageLocation(of: recipe, digest: digest, bakedAt: images.image(for: digest)?.root ?? state.images))
                ?? .directory(state.images)
        })
    }

    /// Bakes every image the manifest's services use; unchanged images are cached.
    public func bake(_ spec: SystemSpec, progress: @escaping ProgressSink) async throws -> [DesiredService] {
        var baked: [String: BakedImage] = [:]
        for recipe in spec.imagesInUse {
            baked[recipe.name] = try await baker.bake(recipe) { event in
                progress(ProgressEvent(event))
            }
        }
        try await backend.prepareImages(spec, baked: Array(baked.values), progress: progress)
        return try desiredServices(spec, images: baked.mapValues(\.digest)) { recipe, _ in
            try backend.imageLocation(of: recipe, digest: baked[recipe.name]!.digest, bakedAt: baked[recipe.name]!.root)
        }
    }

    /// What each service of `spec` asks for, with its image's digest and location, and its
    /// servers told where the agent's services are as the backend says they reach them.
    func desiredServices(_ spec: SystemSpec, images digests: [String: ImageDigest],
                                 location: (ImageRecipe, ImageDigest) throws -> ImageLocation) throws -> [DesiredService] {
        let reach = backend.serverEnvironment(AgentServiceAddresses(
            dns: identity.dnsAddress, eventsURL: eventsURL, eventsToken: eventsToken, syslog: syslogAddress, relp: relpAddress,
            syslogTLS: syslogTLSAddress, caPEM: network?.caPEM))
        var locations: [String: ImageLocation] = [:]
        for (name, digest) in digests { locations[name] = try location(spec.image(named: name)!, digest) }
        return spec.services.map { service in
            let recipe = spec.image(named: service.image)!
            return DesiredService(spec: service, recipe: recipe, image: digests[recipe.name]!,
                                  imageLocation: locations[recipe.name]!, zone: spec.zone, agentServices: reach)
        }
    }

    /// One pass of self-healing and phoenix recreation.
    public func tick(progress: @escaping ProgressSink) async {
        await identity.refresh()
        await backend.tick()
        do {
            try logs.store.enforceRetention()
        } catch {
            logger.warning("log retention: \(describe(error))")
        }
        guard let desired, !stopped else { return }
        await reconciler.tick(desired) { event in progress(ProgressEvent(event)) }
        await rollBackCrashLoopingRelease(progress: progress)
    }

    /// The system's zone as the DNS server serves it now, in master-file form.
    public func zoneText() async -> String { await identity.zoneText() }

    /// What the DNS server, the entry points and the log store counted, for `GET /metrics`.
    func layerCounts() async -> LayerCounts {
        LayerCounts(dnsQueries: identity.dnsQueries, entrypoints: await identity.entrypointStatistics,
                    logs: logs.writer.current, logStoreBytes: logs.store.totalBytes)
    }

    public func history() async -> [DeploymentRecord] {
        await reconciler.state.deployments
    }

    public func status() async throws -> StatusReport {
        try await statusReporter.report(desired: desired)
    }

    /// Re-hashes each server's view of its image; with `replace`, replaces drifted servers
    /// through a normal rollout.
    public func verify(replace: Bool, progress: @escaping ProgressSink) async throws -> VerifyReport {
        let (checked, findings) = try await driftChecker.check(progress: progress)
        var replaced = false
        if replace, !findings.isEmpty {
            guard let desired else {
                throw PyreError(.deploy, "cannot replace drifted servers before a deploy has succeeded; run `pyre deploy`")
            }
            let drifted = Set(findings.map { ServerID($0.server) })
            let setAside = try await bakeAgain(Set(findings.map { ImageDigest($0.image) }), progress: progress)
            let record = try await reconciler.deploy(desired, trigger: .drift, replacing: drifted) { event in
                progress(ProgressEvent(event))
            }
            for directory in setAside { try? FileTree.remove(directory.path) }
            replaced = record.outcome == .completed
        }
        return VerifyReport(checked: checked, drifted: findings, replaced: replaced)
    }

    /// Every server of a whole-server image sees the image's own tree, and its files are
    /// links into the layer cache: a drifted one is set aside (its servers keep it until
    /// they are replaced), its layers are dropped and it is baked again from scratch.
    /// Returns the directories set aside, to remove once the servers are replaced.
    private func bakeAgain(_ digests: Set<ImageDigest>, progress: @escaping ProgressSink) async throws -> [URL] {
        let drifted = digests.compactMap { images.image(for: $0) }.filter(\.isWholeServer)
        guard !drifted.isEmpty else { return [] }
        let spec = try loadWorkload()
        var setAside: [URL] = []
        for image in drifted {
            guard let recipe = try spec.imagesInUse.first(where: { try baker.digest(of: $0) == image.digest }) else {
                throw PyreError(.deploy, "image '\(image.name)' drifted, and pyre.yml no longer describes it: run `pyre deploy` "
                    + "to replace its servers with the image it describes now")
            }
            setAside.append(try images.setAside(image.digest))
            try baker.layers.remove(layers: image.layers)
            _ = try await baker.bake(recipe) { event in progress(ProgressEvent(event)) }
        }
        return setAside
    }

    /// Destroys every server of the system; persistent data stays. The watcher leaves the
    /// system empty until the next deploy.
    /// `reason` says why in each server's line: "pyre destroy", "the agent is stopping".
    public func destroyAll(reason: String, progress: @escaping ProgressSink) async throws {
        let record = try await reconciler.destroyAll(reason: reason) { event in progress(ProgressEvent(event)) }
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

    /// Graceful stop: cancels running operations and destroys the servers; persistent data
    /// stays. The agent's services close after it, in the order of ``AgentServices``.
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
        await destroyUnrecordedServers()
        try? FileManager.default.removeItem(at: state.agentFile)
    }
}

/// The agent's journal is the event store's typed `$pyre-agent` stream.
extension AgentJournal: EventJournal {}
