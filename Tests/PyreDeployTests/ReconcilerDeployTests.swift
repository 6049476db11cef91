import Foundation
import PyreCore
import PyreDeploy
import PyreTesting
import Synchronization
import Testing

@Suite struct ReconcilerDeployTests {
    @Test func deployFromEmptyCreatesCountServersOfGenerationOne() async throws {
        let harness = Harness()
        let record = try await harness.deploy([desired(serviceSpec())])
        #expect(record.outcome == .completed && record.number == 1 && record.trigger == .manual)
        let servers = try await harness.running
        #expect(servers.count == 3 && Set(servers.map(\.id)).count == 3)
        #expect(servers.allSatisfy { $0.generation == 1 && $0.id.rawValue.hasPrefix("web-1-") && $0.image == digest("a") })
        #expect(Set(record.created) == Set(servers.map(\.id)))
        #expect(harness.publisher.published == Set(servers.map(\.id)))
        // Nothing to retire: the new servers go out in one change once none is still starting.
        #expect(harness.publisher.changes == [.init(publishing: Set(servers.map(\.id)), unpublishing: [])])
        #expect(harness.events("ServerHealthy").count == 3 && harness.events("ServerPublished").count == 3)
        let live = await harness.reconciler.state.liveServers
        #expect(live.count == 3 && live.allSatisfy { $0.healthy && $0.published })
        #expect(await harness.foldMatches())
        // Creates of the whole batch are one journal write.
        #expect(harness.journal.writes < harness.journal.events.count)
    }

    @Test func redeployWithANewImageReplacesEveryServer() async throws {
        let harness = Harness()
        try await harness.deploy([desired(serviceSpec())])
        let old = Set(try await harness.running.map(\.id))
        let record = try await harness.deploy([desired(serviceSpec(), image: "b")])
        #expect(record.outcome == .completed)
        let servers = try await harness.running
        #expect(servers.count == 3 && old.isDisjoint(with: servers.map(\.id)))
        #expect(servers.allSatisfy { $0.generation == 2 && $0.image == digest("b") })
        #expect(Set(harness.provider.destroyed) == old && Set(record.destroyed) == old)
        #expect(harness.publisher.published == Set(servers.map(\.id)))
        // Blue/green: the whole new fleet replaces the whole old one in one change.
        #expect(harness.publisher.changes.count == 2)
        #expect(harness.publisher.changes.last == .init(publishing: Set(servers.map(\.id)), unpublishing: old))
        #expect(harness.publisher.fewestPublished("web") == 3)
        for type in ["ServerUnpublished", "ServerDrained", "ServerDestroyed"] {
            #expect(harness.events(type).count == 3, "\(type)")
        }
        // Every server healthy before the change; the change journaled before any drain.
        let types = harness.journal.events.map(\.typeName)
        let order = types[types.lastIndex(of: "DeploymentStarted")!...]
        #expect(order.lastIndex(of: "ServerHealthy")! < order.firstIndex(of: "ServerPublished")!)
        #expect(order.lastIndex(of: "ServerUnpublished")! < order.firstIndex(of: "ServerDrained")!)
        #expect(await harness.foldMatches())
    }

    @Test func oneAtATimePublishesEachNewServerWithTheNextRetirement() async throws {
        let harness = Harness()
        let strategy = RolloutStrategy(maxSurge: .absolute(0), maxUnavailable: .absolute(1))
        try await harness.deploy([desired(serviceSpec(count: 3, strategy: strategy))])
        let old = Set(try await harness.running.map(\.id))
        try await harness.deploy([desired(serviceSpec(count: 3, strategy: strategy), image: "b")])
        let changes = harness.publisher.changes.dropFirst()
        // Retire one; then each new server in the change that retires the next old one; the
        // last new server alone.
        #expect(changes.map { [$0.publishing.count, $0.unpublishing.count] } == [[0, 1], [1, 1], [1, 1], [1, 0]])
        #expect(Set(changes.flatMap(\.unpublishing)) == old)
        #expect(Set(changes.flatMap(\.publishing)) == Set(try await harness.running.map(\.id)))
        #expect(await harness.foldMatches())
    }

    @Test func aFailedGateAlsoDestroysTheServersHeldForTheSwap() async throws {
        let harness = Harness()
        try await harness.deploy([desired(serviceSpec())])
        let old = try await harness.running
        harness.health.set(.failing(reason: "answered 500"), forImage: digest("b"))
        let health = harness.health
        let passing = Countdown(2)
        let record = try await harness.reconciler.deploy([desired(serviceSpec(), image: "b")], trigger: .manual) { event in
            // Two of the three new servers pass their gate and are held.
            if case let .creating(id) = event, passing.next() {
                health.set(.healthy, for: id)
            }
        }
        #expect(record.outcome == .failed)
        #expect(try await harness.running == old)
        #expect(harness.publisher.changes.count == 1 && harness.publisher.published == Set(old.map(\.id)))
        #expect(Set(harness.provider.destroyed) == Set(record.created))
        let healthy = harness.events("ServerHealthy").compactMap { event -> ServerID? in
            if case let .serverHealthy(2, id, _) = event { id } else { nil }
        }
        #expect(healthy.count == 2)
        let reasons = Dictionary(uniqueKeysWithValues: harness.events("ServerDestroyed").compactMap { event in
            if case let .serverDestroyed(id, reason, _) = event { (id, reason) } else { nil }
        })
        for id in healthy { #expect(reasons[id] == "deploy #2 failed before it was published") }
        #expect(harness.events("ServerPublished").count == 3 && harness.events("ServerUnpublished").isEmpty)
        #expect(await harness.foldMatches())
    }

    @Test func aBatchingProviderCreatesAStepInOneCallAndNamesTheServers() async throws {
        let harness = Harness(provider: InMemoryProvider(namingServers: "i"))
        try await harness.deploy([desired(serviceSpec())])
        let first = (1 ... 3).map { ServerID("i-\($0)") }
        #expect(try await harness.running.map(\.id) == first)
        #expect(harness.provider.createBatches == [3])
        #expect(harness.publisher.changes == [.init(publishing: Set(first), unpublishing: [])])
        #expect(harness.progress.all.filter { if case .created = $0 { true } else { false } }
            == first.map { .created($0) })
        #expect(!harness.progress.all.contains { if case .creating = $0 { true } else { false } })

        let record = try await harness.deploy([desired(serviceSpec(), image: "b")])
        let second = (4 ... 6).map { ServerID("i-\($0)") }
        #expect(record.outcome == .completed && Set(record.created) == Set(second))
        #expect(try await harness.running.map(\.id) == second)
        #expect(harness.provider.createBatches == [3, 3])
        #expect(harness.provider.destroyBatches == [first])
        #expect(harness.publisher.changes.last == .init(publishing: Set(second), unpublishing: Set(first)))
        #expect(await harness.foldMatches())
    }

    @Test func destroyRetriesOnlyTheServersThatFailed() async throws {
        let harness = Harness()
        try await harness.deploy([desired(serviceSpec())])
        let old = try await harness.running.map(\.id)
        let failures = Countdown(2)
        let stubborn = old[1]
        harness.provider.failDestroy = { id in id == stubborn && failures.next() }
        let record = try await harness.deploy([desired(serviceSpec(), image: "b")])
        #expect(record.outcome == .completed)
        #expect(harness.provider.destroyBatches == [old, [stubborn], [stubborn]])
        #expect(Set(harness.provider.destroyed) == Set(old))
    }

    @Test func oneAtATimeNeverGoesBelowCountMinusOne() async throws {
        let harness = Harness()
        let strategy = RolloutStrategy(maxSurge: .absolute(0), maxUnavailable: .absolute(1))
        try await harness.deploy([desired(serviceSpec(count: 4, strategy: strategy))])
        try await harness.deploy([desired(serviceSpec(count: 4, strategy: strategy), image: "b")])
        #expect(try await harness.running.allSatisfy { $0.image == digest("b") })
        #expect(harness.publisher.fewestPublished("web") == 3)
    }

    @Test func gateFailureDestroysNewServersAndLeavesTheOldFleet() async throws {
        let harness = Harness()
        try await harness.deploy([desired(serviceSpec())])
        let old = try await harness.running
        harness.health.set(.failing(reason: "GET /healthz answered 500"), forImage: digest("b"))
        let provider = harness.provider
        let record = try await harness.reconciler.deploy([desired(serviceSpec(), image: "b")], trigger: .manual) { event in
            harness.progress.append(event)
            if case let .creating(id) = event { provider.setOutput(["starting", "boom: no database"], of: id) }
        }
        #expect(record.outcome == .failed)
        #expect(record.reason?.contains("failed its health gate") == true)
        #expect(try await harness.running == old)
        #expect(harness.publisher.published == Set(old.map(\.id)))
        #expect(Set(harness.provider.destroyed) == Set(record.created) && record.created.count == 3)
        let failed = harness.events("ServerFailed")
        #expect(!failed.isEmpty)
        if case let .serverFailed(_, _, reason, output, _) = failed.first {
            #expect(reason.contains("not healthy within") && reason.contains("answered 500"))
            #expect(output == ["starting", "boom: no database"])
        }
        #expect(harness.events("ServerUnpublished").isEmpty)
        #expect(harness.progress.all.contains { if case .deployFailed(2, _) = $0 { true } else { false } })
        #expect(await harness.foldMatches())
    }

    @Test func aServerThatExitsDuringItsGateFailsAtOnce() async throws {
        let harness = Harness { provider in KillOnProbe(provider: provider) }
        let record = try await harness.deploy([desired(serviceSpec(count: 1, deadline: .seconds(60)))])
        #expect(record.outcome == .failed)
        #expect(record.reason?.contains("exited with status 3") == true)
        #expect(try await harness.running.isEmpty)
    }

    @Test func aServerMayFailProbesUntilItsDeadline() async throws {
        let harness = Harness()
        harness.health.set(.healthyAfter(checks: 2), forImage: digest("a"))
        let record = try await harness.deploy([desired(serviceSpec(count: 2, deadline: .seconds(60)))])
        #expect(record.outcome == .completed)
        for server in try await harness.running { #expect(harness.health.checks(of: server.id) == 3) }
    }

    @Test func aSlowHealthGateReportsItsProgress() async throws {
        let harness = Harness(configuration: ReconcilerConfiguration(system: "test", gateProgressInterval: .milliseconds(50)))
        harness.health.set(.healthyAfter(checks: 30), forImage: digest("a"))
        let record = try await harness.deploy([desired(serviceSpec(count: 1, deadline: .seconds(60)))])
        #expect(record.outcome == .completed)
        let reports = harness.progress.all.compactMap { event -> (probes: Int, failure: String?)? in
            guard case let .gating(_, _, probes, _, lastFailure) = event else { return nil }
            return (probes, lastFailure)
        }
        // 30 failing probes 10 ms apart take about 300 ms: several reports, each with more probes.
        #expect(reports.count >= 2, "\(harness.progress.all)")
        #expect(reports.allSatisfy { $0.failure == "not ready yet" })
        #expect(zip(reports, reports.dropFirst()).allSatisfy { $0.probes < $1.probes })
    }

    @Test func createFailureFailsTheDeploy() async throws {
        let harness = Harness()
        harness.provider.failCreate = { _ in true }
        let record = try await harness.deploy([desired(serviceSpec())])
        #expect(record.outcome == .failed && record.reason?.contains("injected create failure") == true)
        #expect(try await harness.running.isEmpty)
        #expect(await harness.foldMatches())
    }

    @Test func aSecondDeployIsRefusedWhileOneRuns() async throws {
        let gate = HealthGate()
        let harness = Harness { _ in gate }
        let started = AsyncStream<Void>.makeStream()
        let first = Task {
            try await harness.reconciler.deploy([desired(serviceSpec(count: 1, deadline: .seconds(60)))],
                                                trigger: .manual) { event in
                if case .creating = event { started.continuation.yield() }
            }
        }
        for await _ in started.stream { break }
        await #expect {
            try await harness.deploy([desired(serviceSpec(count: 1))])
        } throws: { error in
            let error = error as? PyreError
            return error?.code == .deployRunning && error?.message.hasPrefix("deploy #1 is running since ") == true
        }
        gate.open()
        #expect(try await first.value.outcome == .completed)
        // The lock ends with the deploy.
        #expect(try await harness.deploy([desired(serviceSpec(count: 1))]).outcome == .completed)
    }

    @Test func scalingDownAndRemovingAServiceDestroysServers() async throws {
        let harness = Harness()
        try await harness.deploy([desired(serviceSpec()), desired(serviceSpec("worker", count: 1))])
        let record = try await harness.deploy([desired(serviceSpec(count: 2))])
        #expect(record.outcome == .completed)
        let servers = try await harness.running
        #expect(servers.count == 2 && servers.allSatisfy { $0.service == "web" && $0.generation == 1 })
        let reasons = harness.events("ServerDestroyed").compactMap { event -> String? in
            if case let .serverDestroyed(_, reason, _) = event { reason } else { nil }
        }
        #expect(reasons.sorted() == ["scaled down to 2", "service no longer declared"])
        #expect(await harness.foldMatches())
    }

    @Test func destroyingEverythingSaysWhyNotThatTheServiceIsUndeclared() async throws {
        let harness = Harness()
        try await harness.deploy([desired(serviceSpec(count: 2))])
        let progress = ProgressLog()
        let record = try await harness.reconciler.destroyAll(reason: "pyre destroy") { progress.append($0) }
        #expect(record.outcome == .completed)
        #expect(try await harness.running.isEmpty)
        let reasons = harness.events("ServerDestroyed").compactMap { event -> String? in
            if case let .serverDestroyed(_, reason, _) = event { reason } else { nil }
        }
        #expect(reasons == ["pyre destroy", "pyre destroy"])
        let plans = progress.all.compactMap { event -> String? in if case let .planned(plan) = event { plan.render() } else { nil } }
        #expect(plans == ["web: destroy 2 (pyre destroy)"])
    }

    @Test func driftedServersAreReplacedOnRequest() async throws {
        let harness = Harness()
        try await harness.deploy([desired(serviceSpec())])
        let drifted = try await harness.running[0].id
        let record = try await harness.reconciler.deploy([desired(serviceSpec())], trigger: .drift,
                                                         replacing: [drifted]) { _ in }
        #expect(record.outcome == .completed && record.destroyed == [drifted] && record.created.count == 1)
        #expect(try await harness.running.count == 3)
    }

    @Test func planShowsWhatADeployWouldDo() async throws {
        let harness = Harness()
        try await harness.deploy([desired(serviceSpec())])
        #expect(try await harness.reconciler.plan([desired(serviceSpec())]).isEmpty)
        let plan = try await harness.reconciler.plan([desired(serviceSpec(), config: "config-2")])
        #expect(plan.services[0].replace.count == 3 && plan.services[0].create == 3)
    }

    @Test func manyServersDeployWithFewJournalWrites() async throws {
        let harness = Harness()
        let record = try await harness.deploy([desired(serviceSpec(count: 2_000))])
        #expect(record.outcome == .completed && record.created.count == 2_000)
        #expect(Set(try await harness.running.map(\.id)).count == 2_000)
        #expect(harness.journal.writes < 2_000)
        #expect(await harness.foldMatches())
    }
}

/// A health checker that fails every probe until opened.
final class HealthGate: HealthChecker {
    private let isOpen = Mutex(false)
    func open() { isOpen.withLock { $0 = true } }
    func check(address: String, port: Int, spec: HealthCheckSpec) async -> HealthResult {
        isOpen.withLock { $0 } ? .pass : .fail(reason: "closed")
    }
}

/// Kills the probed server (status 3) and fails the probe.
struct KillOnProbe: HealthChecker {
    let provider: InMemoryProvider
    func check(address: String, port: Int, spec: HealthCheckSpec) async -> HealthResult {
        for server in (try? await provider.list()) ?? [] where server.address == address {
            provider.kill(server.id, status: 3)
        }
        return .fail(reason: "connection refused")
    }
}
