import Foundation
import PyreCore

extension Reconciler {
    /// Deploys the services of `desired` named in `only` (all when nil). `removal` is why the
    /// servers of services not in `desired` go.
    func deploy(_ desired: [DesiredService], trigger: DeployTrigger, only: Set<String>?, release: Release? = nil,
                options: RolloutOptions = .gatesOnly, rollingBack: Int? = nil, replacing: Set<ServerID> = [],
                removal: String = ServicePlan.undeclared,
                progress: @escaping @Sendable (DeployProgress) -> Void) async throws -> DeploymentRecord {
        if let active {
            throw PyreError(.deployRunning, "deploy #\(active.number) is running since "
                + "\(active.since.formatted(.iso8601)); wait for it to finish (`pyre history` shows it), then deploy again")
        }
        let number = state.nextDeploymentNumber
        active = (number, Date())
        defer { active = nil }

        let servers = try await listServers()
        _ = try await forgetVanished(servers)
        var plan = Planner.plan(desired: desired, observed: observe(servers, desired: desired), now: Date(),
                                replacing: replacing)
        if let only { plan.services.removeAll { !only.contains($0.service) } }
        for index in plan.services.indices where plan.services[index].isRemoval {
            plan.services[index].removalReason = removal
        }
        progress(.planned(plan))
        var started: [AgentEvent] = [.deploymentStarted(deployment: number, trigger: trigger,
                                                        services: plan.services.filter { !$0.isEmpty }.map(\.service),
                                                        at: Date())]
        if let release { started.append(.releaseRecorded(deployment: number, release: release)) }
        if let rollingBack, let origin = release?.origin {
            started.append(.deploymentRolledBack(deployment: rollingBack, by: number, restoring: origin, at: Date()))
        }
        try await record(started)

        var run = prepare(number: number, plan: plan, desired: desired, options: options)
        try await rollOut(&run, progress: progress)

        if run.failures.isEmpty, !run.paused.isEmpty {
            try await record([.deploymentPaused(deployment: number, at: Date())])
            progress(.paused(deployment: number))
        } else if run.failures.isEmpty {
            try await record([.deploymentCompleted(deployment: number, at: Date())])
            progress(.completed(deployment: number, seconds: run.elapsedSeconds))
        } else {
            let reason = run.failures.joined(separator: "; ")
            try await record([.deploymentFailed(deployment: number, reason: reason, at: Date())])
            progress(.deployFailed(deployment: number, reason: reason))
        }
        return state.deployments.last { $0.number == number }!
    }

    private func prepare(number: Int, plan: Plan, desired: [DesiredService], options: RolloutOptions) -> DeploymentRun {
        var run = DeploymentRun(number: number)
        for service in desired { run.desired[service.spec.name] = service }
        for servicePlan in plan.services {
            let name = servicePlan.service
            let spec = run.desired[name]?.spec
            let strategy = spec?.strategy ?? RolloutStrategy()
            run.machines[name] = RolloutStateMachine(plan: servicePlan, strategy: strategy,
                                                     phases: options.phases(strategy, count: servicePlan.count))
            run.generations[name] = state.nextGeneration(of: name)
            run.drains[name] = spec?.drain ?? configuration.removedServiceDrain
            run.unfinished.insert(name)
            for replacement in servicePlan.replace {
                run.destroyReasons[replacement.id] = replacement.reason.isDead
                    ? "\(replacement.reason)" : "replaced (\(replacement.reason))"
            }
            let extraReason = servicePlan.isRemoval ? servicePlan.removalReason : "scaled down to \(servicePlan.count)"
            for id in servicePlan.destroyExtra { run.destroyReasons[id] = extraReason }
        }
        return run
    }

    /// Drives every service's state machine until all completed or failed. I/O runs in child
    /// tasks that report to a mailbox; each batch of reports is journaled with one write.
    private func rollOut(_ run: inout DeploymentRun, progress: @escaping @Sendable (DeployProgress) -> Void)
        async throws {
        let mailbox = Mailbox<RolloutMessage>()
        let worker = self.worker
        try await withThrowingDiscardingTaskGroup { group in
            for service in run.machines.keys.sorted() { feed(service, .started, &run, progress) }
            while true {
                let jobs = try await flush(&run)
                for job in jobs { group.addTask { mailbox.post(await worker.perform(job, progress: progress)) } }
                if run.unfinished.isEmpty { break }
                if run.jobsInFlight == 0 {
                    // Unreachable while the state machine keeps its invariants; never hang on it.
                    run.failures += run.unfinished.sorted().map { "\($0): the rollout stalled" }
                    break
                }
                for message in await mailbox.takeAll() {
                    run.jobsInFlight -= 1
                    handle(message, &run, progress)
                }
            }
            // Health gates of servers already being removed need not finish.
            group.cancelAll()
        }
    }

    /// Journals the pending events; returns the jobs that may start now.
    private func flush(_ run: inout DeploymentRun) async throws -> [RolloutJob] {
        if !run.events.isEmpty {
            let events = run.events
            run.events.removeAll(keepingCapacity: true)
            try await journalOnly(events)
        }
        let jobs = run.jobs
        run.jobs.removeAll(keepingCapacity: true)
        run.jobsInFlight += jobs.count
        return jobs
    }

    /// Folds `event` into the state now; it is journaled before any job that follows it starts.
    private func emit(_ event: AgentEvent, _ run: inout DeploymentRun) {
        state.apply(event)
        run.events.append(event)
    }

    private func feed(_ service: String, _ input: RolloutStateMachine.Input, _ run: inout DeploymentRun,
                      _ progress: @Sendable (DeployProgress) -> Void) {
        guard run.machines[service] != nil else { return }
        // Mutated in place: copying the machine out would copy its sets for every input.
        let actions = run.machines[service]!.handle(input)
        for action in actions { perform(action, service, &run, progress) }
    }

    private func perform(_ action: RolloutStateMachine.Action, _ service: String, _ run: inout DeploymentRun,
                         _ progress: @Sendable (DeployProgress) -> Void) {
        switch action {
        case let .create(count):
            let batches = provider.createsInBatches
            var specs: [ServerSpec] = []
            for _ in 0 ..< count {
                guard let spec = newServerSpec(service, &run) else {
                    feed(service, .createFailed(reason: "no unused server id left in generation "
                        + "\(run.generations[service]!) of \(service); deploy again"), &run, progress)
                    continue
                }
                // A batching provider may name the server itself: it is reported once created.
                if !batches { progress(.creating(spec.id)) }
                specs.append(spec)
            }
            if batches {
                if !specs.isEmpty { run.jobs.append(.create(service: service, specs: specs)) }
            } else {
                // One job per server: each server's health gate starts as soon as it runs, not
                // when the slowest of its batch does.
                for spec in specs { run.jobs.append(.create(service: service, specs: [spec])) }
            }
        case let .swap(publish, retire):
            for id in retire { progress(.retiring(id)) }
            run.removing.formUnion(retire)
            run.jobs.append(.swap(Swap(service: service, publishing: publish.map { state.servers[$0]!.info },
                                       unpublishing: retire.filter { state.servers[$0]?.published == true },
                                       retiring: Removal(service: service, ids: retire, drain: run.drains[service]))))
        case let .destroyNow(ids):
            startRemoval(Removal(service: service, ids: ids, drain: nil), &run)
        case let .withdraw(ids):
            for id in ids { run.destroyReasons[id] = "a canary of a release that failed its watch" }
            // A canary that died serves nothing: no drain.
            let (dead, live) = (ids.filter(run.died.contains), ids.filter { !run.died.contains($0) })
            if !dead.isEmpty { startRemoval(Removal(service: service, ids: dead, drain: nil), &run) }
            if !live.isEmpty { startRemoval(Removal(service: service, ids: live, drain: run.drains[service] ?? .zero), &run) }
        case let .watch(ids, kind):
            let spec = run.desired[service]!.spec
            progress(.watching(service: service, kind, servers: ids, seconds: spec.strategy.watch.timeInterval))
            run.jobs.append(.watch(WatchJob(service: service, kind: kind, servers: ids.map { state.servers[$0]!.info },
                                            check: spec.health, duration: spec.strategy.watch,
                                            maxErrorLogs: spec.strategy.maxErrorLogs)))
        case .pause:
            run.paused.insert(service)
            run.unfinished.remove(service)
        case .wait:
            break
        case .complete:
            run.unfinished.remove(service)
        case let .fail(reason):
            run.failures.append("\(service): \(reason)")
            run.unfinished.remove(service)
        }
    }

    private func newServerSpec(_ service: String, _ run: inout DeploymentRun) -> ServerSpec? {
        let desired = run.desired[service]!
        let generation = run.generations[service]!
        for _ in 0 ..< 1000 {
            let id = ServerID.make(service: service, generation: generation)
            guard state.servers[id] == nil, run.issuedIDs.insert(id).inserted else { continue }
            return ServerSpec(id: id, system: configuration.system, service: service, generation: generation,
                              image: desired.image, imageLocation: desired.imageLocation, command: desired.command,
                              env: desired.env, port: desired.spec.port, configHash: desired.configHash,
                              zone: configuration.zone, user: desired.user)
        }
        return nil
    }

    /// Unpublishes the published ones of dead or failed servers, then destroys them all.
    private func startRemoval(_ removal: Removal, _ run: inout DeploymentRun) {
        run.removing.formUnion(removal.ids)
        let published = removal.ids.filter { state.servers[$0]?.published == true }
        if published.isEmpty {
            continueRemoval(removal, &run)
        } else {
            run.jobs.append(.unpublish(removal, published: published))
        }
    }

    private func continueRemoval(_ removal: Removal, _ run: inout DeploymentRun) {
        run.jobs.append(removal.drain == nil ? .destroy(removal) : .drain(removal))
    }

    private func handle(_ message: RolloutMessage, _ run: inout DeploymentRun,
                        _ progress: @Sendable (DeployProgress) -> Void) {
        let now = Date()
        switch message {
        case let .created(service, servers, failures):
            let check = run.desired[service]!.spec.health
            for var server in servers {
                server.config = run.desired[service]?.configParts
                emit(.serverCreated(deployment: run.number, server: server), &run)
                if provider.createsInBatches { progress(.created(server.id)) }
                feed(service, .created(server.id), &run, progress)
                if !run.removing.contains(server.id) {
                    run.jobs.append(.gate(service: service, server: server, check: check))
                }
            }
            for failure in failures { feed(service, .createFailed(reason: failure), &run, progress) }
        case let .gatePassed(service, id, seconds, detail):
            guard !run.removing.contains(id) else { return }
            emit(.decision(deployment: run.number, DeployDecision(kind: .gate, service: service, servers: [id],
                                                                  passed: true, detail: detail, at: now)), &run)
            emit(.serverHealthy(deployment: run.number, id: id, at: now), &run)
            healthTracks[id] = ServerHealth(id: id, lastResult: .pass, checkedAt: now)
            progress(.healthy(id, seconds: seconds))
            feed(service, .gatePassed(id), &run, progress)
        case let .gateFailed(service, id, reason, output, detail):
            guard !run.removing.contains(id) else { return }
            emit(.decision(deployment: run.number, DeployDecision(kind: .gate, service: service, servers: [id],
                                                                  passed: false, detail: "\(reason); \(detail)",
                                                                  culprits: [id], at: now)), &run)
            emit(.serverFailed(deployment: run.number, id: id, reason: reason, output: output, at: now), &run)
            progress(.failed(id, reason: reason, output: output))
            run.destroyReasons[id] = "failed its health gate: \(reason)"
            feed(service, .gateFailed(id, reason: "new server \(id) failed its health gate: \(reason)"), &run, progress)
        case let .swapped(swap):
            // One change, so its events are one journal write too.
            for server in swap.publishing {
                emit(.serverPublished(id: server.id, at: now), &run)
                progress(.published(server.id))
            }
            for id in swap.unpublishing {
                emit(.serverUnpublished(id: id, reason: run.destroyReason(id), at: now), &run)
            }
            feed(swap.service, .swapped, &run, progress)
            if !swap.retiring.ids.isEmpty { continueRemoval(swap.retiring, &run) }
        case let .unpublished(removal, published):
            for id in published {
                emit(.serverUnpublished(id: id, reason: run.destroyReason(id), at: now), &run)
            }
            continueRemoval(removal, &run)
        case let .drained(removal):
            for id in removal.ids { emit(.serverDrained(id: id, at: now), &run) }
            run.jobs.append(.destroy(removal))
        case let .destroyed(removal, failures):
            for id in removal.ids {
                healthTracks[id] = nil
                if let error = failures[id] {
                    logger.error("could not destroy \(id): \(error)")
                    run.failures.append("could not destroy \(id): \(error); the next deploy or agent start retries")
                } else {
                    let reason = run.destroyReason(id)
                    emit(.serverDestroyed(id: id, reason: reason, at: now), &run)
                    progress(.destroyed(id, reason: reason))
                }
                feed(removal.service, .destroyed(id), &run, progress)
            }
        case let .watched(job, decision, died):
            run.died.formUnion(died)
            emit(.decision(deployment: run.number, decision), &run)
            progress(.watched(decision))
            let what = job.kind == .canaries ? "the canaries" : "the new fleet"
            feed(job.service, decision.passed ? .watchPassed
                : .watchFailed(reason: "\(what) failed the watch: \(decision.detail)"), &run, progress)
        }
    }
}
