import Foundation
import PyreCore
import PyreDeploy
import PyreTesting
import Testing

@Suite struct ReconcilerRecoveryTests {
    @Test func recoveryDestroysOrphansAndUnhealthyServersOfAnInterruptedDeploy() async throws {
        let healthy = serverInfo("web-1-0001")
        let vanished = serverInfo("web-1-0002")
        let neverHealthy = serverInfo("web-2-0001", image: "b")
        let orphan = serverInfo("web-2-0002", image: "b")
        let held = serverInfo("web-2-0003", image: "b")
        let at = Date()
        let history: [AgentEvent] = [
            .deploymentStarted(deployment: 1, trigger: .manual, services: ["web"], at: at),
            .serverCreated(deployment: 1, server: healthy),
            .serverCreated(deployment: 1, server: vanished),
            .serverHealthy(deployment: 1, id: healthy.id, at: at),
            .serverHealthy(deployment: 1, id: vanished.id, at: at),
            .serverPublished(id: healthy.id, at: at),
            .serverPublished(id: vanished.id, at: at),
            .deploymentCompleted(deployment: 1, at: at),
            .deploymentStarted(deployment: 2, trigger: .manual, services: ["web"], at: at),
            .serverCreated(deployment: 2, server: neverHealthy),
            .serverCreated(deployment: 2, server: held),
            .serverHealthy(deployment: 2, id: held.id, at: at),
        ]
        let harness = Harness(events: history)
        for server in [healthy, neverHealthy, orphan, held] { harness.provider.adopt(server) }

        try await harness.reconciler.recover()

        #expect(try await harness.running.map(\.id) == [healthy.id])
        #expect(Set(harness.provider.destroyed) == [neverHealthy.id, orphan.id, held.id])
        #expect(harness.provider.destroyBatches == [[neverHealthy.id, orphan.id, held.id]])
        let reasons = Dictionary(uniqueKeysWithValues: harness.events("ServerDestroyed").compactMap { event in
            if case let .serverDestroyed(id, reason, _) = event { (id, reason) } else { nil }
        })
        #expect(reasons[vanished.id] == "vanished")
        #expect(reasons[orphan.id]?.hasPrefix("orphan") == true)
        #expect(reasons[neverHealthy.id]?.contains("deploy #2 was interrupted") == true)
        // Healthy but held for a swap that never came: no name leads to it.
        #expect(reasons[held.id]?.hasPrefix("healthy but not published") == true)
        #expect(harness.publisher.published == [healthy.id])

        let record = try await harness.deploy([desired(serviceSpec(count: 2))], trigger: .recovery)
        #expect(record.outcome == .completed && record.number == 3)
        let servers = try await harness.running
        #expect(servers.count == 2 && servers.contains { $0.id == healthy.id })
        // Generation 2 was used by the interrupted deploy: the new server gets 3.
        #expect(servers.filter { $0.id != healthy.id }.allSatisfy { $0.generation == 3 })
        #expect(await harness.reconciler.state.deployments.map(\.outcome) == [.completed, .interrupted, .completed])
        #expect(await harness.foldMatches())
    }
}

@Suite struct ReconcilerHealingTests {
    @Test func aKilledServerIsReplaced() async throws {
        let harness = Harness()
        let services = [desired(serviceSpec())]
        try await harness.deploy(services)
        let victim = try await harness.running[0].id
        harness.provider.kill(victim, status: 1)

        await harness.reconciler.tick(services)

        let servers = try await harness.running
        #expect(servers.count == 3 && !servers.contains { $0.id == victim })
        #expect(servers.allSatisfy { $0.state == .running })
        #expect(servers.filter { $0.generation == 2 }.count == 1)
        let last = await harness.reconciler.state.deployments.last
        #expect(last?.trigger == .heal && last?.outcome == .completed && last?.destroyed == [victim])
        #expect(harness.events("ServerDestroyed").contains { event in
            if case .serverDestroyed(victim, "exited with status 1", _) = event { true } else { false }
        })
        #expect(await harness.foldMatches())
    }

    @Test func aServerFailingHealthInARowIsReplaced() async throws {
        let harness = Harness()
        let services = [desired(serviceSpec(failures: 2))]
        try await harness.deploy(services)
        let sick = try await harness.running[1].id
        harness.health.set(.failing(reason: "answered 500"), for: sick)

        await harness.reconciler.tick(services)
        let afterOne = await harness.reconciler.serviceHealth()["web"]
        #expect(afterOne?.servers.first { $0.id == sick }?.consecutiveFailures == 1)
        #expect(try await harness.running.contains { $0.id == sick })

        await harness.reconciler.tick(services)
        #expect(try await !harness.running.contains { $0.id == sick })
        #expect(try await harness.running.count == 3)
        #expect(!harness.publisher.published.contains(sick))
        // One probe at its gate, one per pass.
        #expect(harness.health.checks(of: sick) == 3)
        #expect(await harness.reconciler.state.deployments.last?.trigger == .heal)
    }

    @Test func serversOlderThanMaxAgeAreReplacedByPhoenix() async throws {
        let harness = Harness()
        let strategy = RolloutStrategy(maxSurge: .absolute(0), maxUnavailable: .absolute(1))
        try await harness.deploy([desired(serviceSpec(strategy: strategy))])
        let old = Set(try await harness.running.map(\.id))
        try await Task.sleep(for: .milliseconds(30))

        await harness.reconciler.tick([desired(serviceSpec(strategy: strategy, maxAge: .milliseconds(20)))])

        let servers = try await harness.running
        #expect(servers.count == 3 && old.isDisjoint(with: servers.map(\.id)))
        #expect(await harness.reconciler.state.deployments.last?.trigger == .phoenix)
        #expect(harness.publisher.fewestPublished("web") == 2)
    }

    @Test func repeatedHealsBackOff() async throws {
        let configuration = ReconcilerConfiguration(system: "test", healBackoffBase: .seconds(3600))
        let harness = Harness(configuration: configuration)
        let services = [desired(serviceSpec(count: 1))]
        try await harness.deploy(services)
        harness.provider.kill(try await harness.running[0].id)
        await harness.reconciler.tick(services)
        let healed = try await harness.running[0]
        #expect(healed.state == .running)

        harness.provider.kill(healed.id)
        await harness.reconciler.tick(services)
        #expect(try await harness.running == [{ var info = healed; info.state = .exited(status: 137); return info }()])
        let health = await harness.reconciler.serviceHealth()["web"]
        #expect(health?.consecutiveHeals == 1 && health?.nextHealNotBefore != nil && health?.crashLooping == false)
    }

    @Test func aServiceThatKeepsDyingShowsAsCrashLooping() async throws {
        let configuration = ReconcilerConfiguration(system: "test", healBackoffBase: .zero, crashLoopThreshold: 3)
        let harness = Harness(configuration: configuration)
        let services = [desired(serviceSpec(count: 1))]
        try await harness.deploy(services)
        for _ in 0 ..< 3 {
            #expect(await harness.reconciler.serviceHealth()["web"]?.crashLooping != true)
            harness.provider.kill(try await harness.running[0].id)
            await harness.reconciler.tick(services)
        }
        let health = await harness.reconciler.serviceHealth()["web"]
        #expect(health?.crashLooping == true && health?.consecutiveHeals == 3)
        #expect(await harness.foldMatches())
    }

    @Test func deathsOfDifferentServersAreNotACrashLoop() async throws {
        let configuration = ReconcilerConfiguration(system: "test", healBackoffBase: .zero, crashLoopThreshold: 3)
        let harness = Harness(configuration: configuration)
        let services = [desired(serviceSpec(count: 3))]
        try await harness.deploy(services)
        // Each of the three first servers dies once; every replacement keeps running.
        for original in try await harness.running.map(\.id) {
            harness.provider.kill(original)
            await harness.reconciler.tick(services)
        }
        #expect(try await harness.running.filter { $0.state == .running }.count == 3)
        let health = await harness.reconciler.serviceHealth()["web"]
        #expect(health?.crashLooping == false && health?.consecutiveHeals == 1, "\(String(describing: health))")
    }

    @Test func healthyServicesAreLeftAlone() async throws {
        let harness = Harness()
        let services = [desired(serviceSpec())]
        try await harness.deploy(services)
        await harness.reconciler.tick(services)
        #expect(await harness.reconciler.state.deployments.count == 1)
        let health = await harness.reconciler.serviceHealth()["web"]
        #expect(health?.servers.count == 3 && health?.servers.allSatisfy { $0.lastResult == .pass } == true)
    }
}
