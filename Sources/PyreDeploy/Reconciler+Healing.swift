import Foundation
import PyreCore

extension Reconciler {
    /// One pass of self-healing and phoenix recreation: health-checks the live servers of
    /// `desired` (counting failures in a row), and when a service has exited, failing, vanished
    /// or too-old servers, deploys it with trigger `.heal` (or `.phoenix` when age is the only
    /// reason) through the ordinary rollout, so never below `count − max_unavailable`.
    /// Heals of a service in a row back off exponentially; see ``serviceHealth()``.
    ///
    /// `desired` should be what the last successful deploy rolled out: the heal deploys the
    /// whole plan of the services it touches.
    /// `progress` sees the steps of any deploy the pass starts.
    public func tick(_ desired: [DesiredService],
                     progress: @escaping @Sendable (DeployProgress) -> Void = { _ in }) async {
        do {
            try await heal(desired, progress: progress)
        } catch let error as PyreError where error.code == .deployRunning {
            // A manual deploy started meanwhile; the next pass looks again.
        } catch {
            logger.error("self-healing pass failed: \(error)")
        }
    }

    /// Per service: the last health check of each live server and whether it is crash-looping.
    public func serviceHealth() -> [String: ServiceHealth] {
        var result: [String: ServiceHealth] = [:]
        for record in state.liveServers {
            let id = record.info.id
            result[record.info.service, default: ServiceHealth(servers: [], consecutiveHeals: 0, crashLooping: false)]
                .servers.append(healthTracks[id] ?? ServerHealth(id: id))
        }
        let now = Date()
        for (service, streak) in healStreaks where !streakIsOver(streak, now: now) {
            var health = result[service] ?? ServiceHealth(servers: [], consecutiveHeals: 0, crashLooping: false)
            health.consecutiveHeals = streak.count
            health.crashLooping = streak.count >= configuration.crashLoopThreshold
            let notBefore = healNotBefore(streak)
            health.nextHealNotBefore = notBefore > now ? notBefore : nil
            result[service] = health
        }
        return result
    }

    private func heal(_ desired: [DesiredService], progress: @escaping @Sendable (DeployProgress) -> Void) async throws {
        guard active == nil else { return }
        let deploysBefore = state.deployments.count
        let servers = try await listServers()
        // A deploy that ran during the listing makes the list stale.
        guard active == nil, state.deployments.count == deploysBefore else { return }
        let vanished = try await forgetVanished(servers)
        await checkHealth(servers, desired: desired)
        // A deploy that ran during the probes makes the list stale too.
        guard active == nil, state.deployments.count == deploysBefore else { return }

        let now = Date()
        let plan = Planner.plan(desired: desired, observed: observe(servers, desired: desired), now: now)
        let declared = Set(desired.map(\.spec.name))
        var healing: Set<String> = []
        var due: Set<String> = []
        // Per service healed: failures in a row of its worst slot, this one included.
        var slotDepths: [String: Int] = [:]
        for servicePlan in plan.services where declared.contains(servicePlan.service) {
            let name = servicePlan.service
            let dead = vanished[name, default: []] + servicePlan.replace.filter(\.reason.isDead).map(\.id)
            let broken = !dead.isEmpty
            let tooOld = servicePlan.replace.contains { if case .tooOld = $0.reason { true } else { false } }
            guard broken || tooOld else { continue }
            if let streak = healStreaks[name], now < healNotBefore(streak) {
                logger.info("\(name) needs healing; backing off until \(healNotBefore(streak))")
                continue
            }
            due.insert(name)
            if broken {
                healing.insert(name)
                slotDepths[name] = 1 + (dead.compactMap { slotFailures[$0] }.max() ?? 0)
            }
        }
        guard !due.isEmpty else { return }
        if try await failReleaseThatCrashLoops(healing, slotDepths: slotDepths, desired: desired, plan: plan, now: now) {
            return
        }

        let deployment = try await deploy(desired, trigger: healing.isEmpty ? .phoenix : .heal, only: due,
                                          progress: progress)
        slotFailures = slotFailures.filter { state.servers[$0.key]?.destroyed == false }
        for id in deployment.created {
            if let service = state.servers[id]?.info.service, let depth = slotDepths[service] { slotFailures[id] = depth }
        }
        for service in due where healing.contains(service) || deployment.outcome != .completed {
            noteHeal(service, slotDepth: slotDepths[service] ?? 1, at: now)
        }
    }

    /// A slot that keeps dying soon after a release rolled out is the release's fault: after
    /// `crashLoopThreshold` failures in a row it is not healed again but recorded as a failed
    /// release (a `crash loop` decision on the deployment that rolled it out), for the agent to
    /// roll back. Only when every looping service allows rollback and there is a release to go
    /// back to; otherwise healing goes on, backing off. Returns whether it failed the release.
    private func failReleaseThatCrashLoops(_ healing: Set<String>, slotDepths: [String: Int], desired: [DesiredService],
                                           plan: Plan, now: Date) async throws -> Bool {
        guard let current = state.currentRelease, state.previousRelease != nil,
              let release = state.deployments.last(where: { $0.number == current.number }), !release.releaseFailed,
              let finished = release.finishedAt,
              now.timeIntervalSince(finished) < configuration.healStreakReset.timeInterval else { return false }
        let looping = healing.filter { slotDepths[$0, default: 0] >= configuration.crashLoopThreshold }.sorted()
        guard !looping.isEmpty, looping.allSatisfy({ name in
            desired.first { $0.spec.name == name }?.spec.strategy.autoRollback == true
        }) else { return false }
        let events: [AgentEvent] = looping.map { service in
            let dead = plan.services.first { $0.service == service }?.replace.filter(\.reason.isDead) ?? []
            let how = dead.first.map { " (last: \($0.id) \($0.reason))" } ?? ""
            return .decision(deployment: current.number, DeployDecision(
                kind: .crashLoop, service: service, servers: dead.map(\.id), passed: false,
                detail: "a slot of \(service) failed \(slotDepths[service]!) times in a row since deployment "
                    + "#\(current.number) completed\(how)", culprits: dead.map(\.id), at: now))
        }
        logger.warning("crash loop right after a release: failing it", metadata: ["services": "\(looping)"])
        try await record(events)
        return true
    }

    /// Probes the running, gate-passed servers of declared services, a bounded number at once.
    private func checkHealth(_ servers: [ServerInfo], desired: [DesiredService]) async {
        var checks: [String: HealthCheckSpec] = [:]
        for service in desired { checks[service.spec.name] = service.spec.health }
        let targets = servers.filter { info in
            guard info.state == .running, checks[info.service] != nil, let record = state.servers[info.id] else {
                return false
            }
            return record.healthy && !record.destroyed
        }
        let health = worker.health
        let limit = max(1, configuration.healthCheckConcurrency)
        let results = await withTaskGroup(of: (ServerID, HealthResult).self) { group in
            var pending = targets.makeIterator()
            func addNext() {
                guard let info = pending.next(), let check = checks[info.service] else { return }
                group.addTask { (info.id, await health.check(address: info.address, port: info.port, spec: check)) }
            }
            for _ in 0 ..< limit { addNext() }
            var results: [(ServerID, HealthResult)] = []
            for await result in group {
                results.append(result)
                addNext()
            }
            return results
        }
        let now = Date()
        for (id, result) in results where state.servers[id]?.destroyed == false {
            var track = healthTracks[id] ?? ServerHealth(id: id)
            track.lastResult = result
            track.checkedAt = now
            track.consecutiveFailures = result.passed ? 0 : track.consecutiveFailures + 1
            healthTracks[id] = track
        }
    }

    /// Crash-looping and backoff follow the service's worst slot: one server's replacements
    /// dying again and again, not unrelated deaths of different servers.
    private func noteHeal(_ service: String, slotDepth: Int, at now: Date) {
        var streak = healStreaks[service] ?? HealStreak()
        if streakIsOver(streak, now: now) { streak.count = 0 }
        streak.count = max(streak.count, slotDepth)
        streak.lastAt = now
        healStreaks[service] = streak
    }

    private func healNotBefore(_ streak: HealStreak) -> Date {
        streak.lastAt + streak.delay(base: configuration.healBackoffBase, max: configuration.healBackoffMax).timeInterval
    }

    /// No heal was needed for the reset period after the streak's backoff ended.
    private func streakIsOver(_ streak: HealStreak, now: Date) -> Bool {
        now > healNotBefore(streak) + configuration.healStreakReset.timeInterval
    }
}
