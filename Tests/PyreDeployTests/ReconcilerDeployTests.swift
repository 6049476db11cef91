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
        // Blue/green: never fewer than count published.
        #expect(harness.publisher.fewestPublished("web") == 3)
        for type in ["ServerUnpublished", "ServerDrained", "ServerDestroyed"] {
            #expect(harness.events(type).count == 3, "\(type)")
        }
        #expect(await harness.foldMatches())
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
