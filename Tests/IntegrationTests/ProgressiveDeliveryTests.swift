import Foundation
import PyreAPI
import PyreAgent
import PyreCore
import PyreTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Canaries, watches and rollbacks through the real CLI: a bad release never takes the old
/// fleet's place, and going back needs no version number.
extension DeployTests {
    /// The image that exits two seconds after its first health check passed, with the
    /// default strategy: its canary dies beside the old fleet, which never stops serving.
    @Test(arguments: isolationModes)
    func crashingReleaseIsRolledBackAtItsCanary(isolation: String) async throws {
        let entryPort = try freeLoopbackPort(), dnsPort = try freeLoopbackPort()
        let system = try TestSystem(name: "crashers\(isolation.prefix(2))",
                                    service: "count: 3\ndrain: 1s\nstrategy: { max_surge: 100% }", extra: """
            entrypoints:
              public: { listen: "127.0.0.1:\(entryPort)", service: web }
            dns:
              listen: "127.0.0.1:\(dnsPort)"
            """)
        defer { system.cleanUp() }
        let agent = try AgentProcess(system, isolation: isolation)
        defer { agent.terminate() }
        let first = try await agent.waitForHealthy(count: 3)
        let load = try LoadClient(entry: "127.0.0.1:\(entryPort)", dns: "127.0.0.1:\(dnsPort)", zone: "\(system.name).pyre.",
                                  directory: system.directory)
        try await Task.sleep(for: .seconds(1))

        try "".write(to: system.appDirectory.appendingPathComponent("CRASH"), atomically: true, encoding: .utf8)
        try system.setVersion("v2")
        let deploy = try await pyre(["deploy", system.directory.path])
        #expect(deploy.status != 0, "a rolled-back deploy did not land: \(deploy.output)")
        #expect(deploy.output.contains("rolling deploy #2 back to the release of #1"), "\(deploy.output)")
        try await Task.sleep(for: .seconds(1))
        let result = try await load.stop()
        print("crashing release, \(isolation) mode: \(result)")
        #expect(result.entryFailures == [], "through the entry point")
        #expect(result.entryRequests > 50, "the load ran: \(result)")
        #expect(result.versions.contains("v1"), "\(result.versions)")

        let records = try await history(system)
        let failed = try #require(records.first { $0.number == 2 })
        #expect(failed.outcome == .rolledBack && failed.rolledBackBy == 3 && failed.releaseFailed, "\(records)")
        let rollback = try #require(records.first { $0.number == 3 })
        #expect(rollback.trigger == .rollback && rollback.restores == 1 && rollback.outcome == .completed)
        let serving = try await agent.waitForHealthy(count: 3)
        #expect(Set(serving.map(\.id)) == Set(first.map(\.id)), "the old fleet never left")
        for server in serving { #expect(try await fetch(server) == "\(server.id) v1") }

        let timeline = try await pyre(["history", system.directory.path, "2"])
        #expect(timeline.status == 0, "\(timeline.output)")
        for expected in ["canary watch failed", "exited with status 3", "gate passed", "rolled back",
                         "deployment #3 deploys the release of #1 again", "last log lines of web-2-"] {
            #expect(timeline.output.contains(expected), "\(expected) in:\n\(timeline.output)")
        }
        print(timeline.output)
        let json = try await pyre(["history", system.directory.path, "2", "--json"])
        let report = try JSONDecoder.pyre.decode(TimelineReport.self, from: Data(json.output.utf8))
        #expect(report.failedServers.count == 1 && report.steps.contains { $0.step == "canary watch failed" })
        try await agent.stop()
    }

    /// The error gate reads the central log store: 5 % errors fail it, 0.1 % pass.
    @Test func errorLogsDecideTheCanary() async throws {
        let system = try TestSystem(name: "errgates", service: """
            count: 2
            strategy: { canary: 1, watch: 3s, max_error_logs: 0.5% }
            """)
        defer { system.cleanUp() }
        let agent = try AgentProcess(system, isolation: "process")
        defer { agent.terminate() }
        let first = try await agent.waitForHealthy(count: 2)
        let errors = system.appDirectory.appendingPathComponent("ERROR_PERCENT")

        try "5".write(to: errors, atomically: true, encoding: .utf8)
        try system.setVersion("v2")
        let noisy = try await pyre(["deploy", system.directory.path])
        #expect(noisy.status != 0 && noisy.output.contains("too many errors"), "\(noisy.output)")
        #expect(noisy.output.contains("rolling deploy #2 back"), "\(noisy.output)")
        let kept = try await agent.waitForHealthy(count: 2)
        #expect(Set(kept.map(\.id)) == Set(first.map(\.id)))

        try "0.1".write(to: errors, atomically: true, encoding: .utf8)
        try system.setVersion("v3")
        let quiet = try await pyre(["deploy", system.directory.path])
        #expect(quiet.status == 0, "\(quiet.output)")
        #expect(quiet.output.contains("the canaries passed the watch"), "\(quiet.output)")
        for server in try await agent.waitForHealthy(count: 2) { #expect(try await fetch(server) == "\(server.id) v3") }
        let records = try await history(system)
        #expect(records.map(\.outcome) == [.completed, .rolledBack, .completed, .completed], "\(records)")
        try await agent.stop()
    }

    /// `pyre rollback` after a good deploy: the previous release again, no request lost.
    @Test func rollbackRestoresThePreviousRelease() async throws {
        let entryPort = try freeLoopbackPort(), dnsPort = try freeLoopbackPort()
        let system = try TestSystem(name: "rollbk", service: "count: 2\ndrain: 1s", extra: """
            entrypoints:
              public: { listen: "127.0.0.1:\(entryPort)", service: web }
            dns:
              listen: "127.0.0.1:\(dnsPort)"
            """)
        defer { system.cleanUp() }
        let agent = try AgentProcess(system, isolation: "process")
        defer { agent.terminate() }
        try await agent.waitForHealthy(count: 2)
        try system.setVersion("v2")
        #expect(try await pyre(["deploy", system.directory.path]).status == 0)
        let load = try LoadClient(entry: "127.0.0.1:\(entryPort)", dns: "127.0.0.1:\(dnsPort)", zone: "\(system.name).pyre.",
                                  directory: system.directory)

        let plan = try await pyre(["plan", system.directory.path, "--rollback"])
        #expect(plan.status == 2 && plan.output.contains("rollback to the release of deployment #1"), "\(plan.output)")
        let refused = try await pyre(["rollback", system.directory.path])
        #expect(refused.status != 0 && refused.output.contains("without --yes"), "\(refused.output)")
        let rollback = try await pyre(["rollback", system.directory.path, "--yes"])
        #expect(rollback.status == 0, "\(rollback.output)")
        #expect(rollback.output.contains("rollback to the release of deployment #1"), "the plan comes first: \(rollback.output)")
        try await Task.sleep(for: .seconds(1))
        let result = try await load.stop()
        #expect(result.entryFailures == [], "through the entry point: \(result)")
        #expect(result.versions.isSuperset(of: ["v1", "v2"]), "\(result.versions)")
        for server in try await agent.waitForHealthy(count: 2) { #expect(try await fetch(server) == "\(server.id) v1") }
        let records = try await history(system)
        #expect(records.last?.trigger == .rollback && records.last?.restores == 1 && records.last?.outcome == .completed)
        // Rolling back again goes forward to #2's release: the one before the current release.
        let unknown = try await pyre(["rollback", system.directory.path, "--to", "9", "--yes"])
        #expect(unknown.status != 0 && unknown.output.contains("there is no deployment #9"), "\(unknown.output)")
        try await agent.stop()
    }

    /// `--canary-only` stops with the canary beside the old fleet; `pyre promote` finishes.
    @Test func canaryOnlyThenPromote() async throws {
        let system = try TestSystem(name: "promoted", service: """
            count: 3
            strategy: { canary: 1, watch: 1s }
            """)
        defer { system.cleanUp() }
        let agent = try AgentProcess(system, isolation: "process")
        defer { agent.terminate() }
        let first = try await agent.waitForHealthy(count: 3)
        try system.setVersion("v2")
        let canary = try await pyre(["deploy", system.directory.path, "--canary-only"])
        #expect(canary.status == 0 && canary.output.contains("paused"), "\(canary.output)")
        let status = try await agent.status()
        let servers = try #require(status.services.first).servers
        #expect(servers.count == 4 && servers.filter { $0.generation == 2 }.count == 1, "\(servers)")
        #expect(try await history(system).last?.outcome == .paused)

        let promote = try await pyre(["promote", system.directory.path])
        #expect(promote.status == 0, "\(promote.output)")
        let promoted = try await agent.waitForHealthy(count: 3, excluding: Set(first.map(\.id)))
        for server in promoted { #expect(try await fetch(server) == "\(server.id) v2") }
        #expect(try await history(system).last.map { $0.trigger == .promote && $0.outcome == .completed } == true)
        let nothing = try await pyre(["promote", system.directory.path])
        #expect(nothing.status != 0 && nothing.output.contains("no deployment waits for `pyre promote`"), "\(nothing.output)")
        try await agent.stop()
    }

    /// A release that dies after cut-over fails its fleet watch and is rolled back, blue/green
    /// and one at a time alike.
    @Test(arguments: ["{ canary: 0, watch: 5s }", "{ max_surge: 0, max_unavailable: 1, canary: 0, watch: 5s }"])
    func fleetWatchFailureRollsBack(strategy: String) async throws {
        let system = try TestSystem(name: strategy.contains("max_surge") ? "watchone" : "watchfleet",
                                    service: "count: 2\nstrategy: \(strategy)")
        defer { system.cleanUp() }
        let agent = try AgentProcess(system, isolation: "process")
        defer { agent.terminate() }
        try await agent.waitForHealthy(count: 2)
        try "".write(to: system.appDirectory.appendingPathComponent("CRASH"), atomically: true, encoding: .utf8)
        try system.setVersion("v2")
        let deploy = try await pyre(["deploy", system.directory.path])
        #expect(deploy.status != 0 && deploy.output.contains("the fleet failed the watch"), "\(deploy.output)")
        for server in try await agent.waitForHealthy(count: 2) { #expect(try await fetch(server) == "\(server.id) v1") }
        let records = try await history(system)
        #expect(records.map(\.outcome) == [.completed, .rolledBack, .completed], "\(records)")
        try await agent.stop()
    }

    /// Without a watch the crasher completes its deploy; self-healing then finds its slot
    /// dying again and again, fails the release instead of healing it a fourth time, and the
    /// release before it comes back. Status says how the last server died.
    @Test func crashLoopRightAfterAReleaseRollsItBack() async throws {
        let system = try TestSystem(name: "healstop", service: """
            count: 1
            strategy: { canary: 0, watch: 0s }
            """)
        defer { system.cleanUp() }
        let agent = try AgentProcess(system, isolation: "process")
        defer { agent.terminate() }
        try await agent.waitForHealthy(count: 1)
        try "".write(to: system.appDirectory.appendingPathComponent("CRASH"), atomically: true, encoding: .utf8)
        try system.setVersion("v2")
        #expect(try await pyre(["deploy", system.directory.path]).status == 0, "without a watch the crasher completes")
        _ = await eventually(within: .seconds(90)) {
            let records = (try? await history(system)) ?? []
            return records.first { $0.number == 2 }?.outcome == .rolledBack
                && records.last.map { $0.trigger == .rollback && $0.outcome == .completed } == true
        }
        let records = try await history(system)
        let release = try #require(records.first { $0.number == 2 })
        #expect(release.outcome == .rolledBack && release.releaseFailed, "\(records)")
        let heals = records.filter { $0.trigger == .heal }
        #expect((1 ... 3).contains(heals.count), "healing stopped after a few tries: \(records)")
        #expect(records.last.map { $0.trigger == .rollback && $0.restores == 1 && $0.outcome == .completed } == true)
        for server in try await agent.waitForHealthy(count: 1) { #expect(try await fetch(server) == "\(server.id) v1") }
        let status = try await pyre(["status", system.directory.path])
        #expect(status.output.contains("last death: web-") && status.output.contains("exited with status 3"), "\(status.output)")
        let timeline = try await pyre(["history", system.directory.path, "2"])
        #expect(timeline.output.contains("crash loop failed"), "\(timeline.output)")
        let heal = try await pyre(["history", system.directory.path, String(heals[0].number)])
        #expect(heal.output.contains("destroyed: exited with status 3"), "a heal says what it replaced and why: \(heal.output)")
        try await agent.stop()
    }

    /// SIGKILL while the canary is watched: the next agent keeps the published canary, and
    /// its recovery deploy judges the release again with a canary and watch of its own.
    @Test func agentKilledDuringACanaryWatchConverges() async throws {
        let system = try TestSystem(name: "cwkil", service: """
            count: 2
            strategy: { canary: 1, watch: 4s }
            """)
        defer { system.cleanUp() }
        var agent = try AgentProcess(system, isolation: "process")
        defer { agent.terminate() }
        let first = try await agent.waitForHealthy(count: 2)
        try system.setVersion("v2")
        let deploy = Task { try await pyre(["deploy", system.directory.path]) }
        let watching = await eventually(within: .seconds(30)) {
            (try? await agent.status())?.services.first?.servers.contains { $0.generation == 2 && $0.published } == true
        }
        #expect(watching, "the agent was killed during the canary watch")
        agent.signal(SIGKILL)
        _ = try? await deploy.value

        agent = try AgentProcess(system, isolation: "process")
        let restarted = agent
        defer { restarted.terminate() }
        let converged = try await agent.waitForHealthy(count: 2, excluding: Set(first.map(\.id)))
        for server in converged { #expect(try await fetch(server) == "\(server.id) v2") }
        let records = try await history(system)
        #expect(records.first { $0.number == 2 }?.outcome == .interrupted, "\(records)")
        #expect(records.last.map { $0.trigger == .recovery && $0.outcome == .completed } == true, "\(records)")
        let running = processes(withEnvironment: "PYRE_SYSTEM", system.name).compactMap { serverID(ofProcess: $0) }
        #expect(Set(running) == Set(converged.map(\.id)), "one fleet: \(running)")
        try await agent.stop()
    }

    /// SIGKILL in the middle of a rollback: the next agent finishes it.
    @Test func rollbackCutShortByTheAgentsDeathIsFinished() async throws {
        let system = try TestSystem(name: "rbkill", service: """
            count: 2
            strategy: { canary: 0, watch: 5s }
            health: { http: /healthz, interval: 100ms, successes: 10, deadline: 20s }
            """)
        defer { system.cleanUp() }
        var agent = try AgentProcess(system, isolation: "process")
        defer { agent.terminate() }
        try await agent.waitForHealthy(count: 2)
        try "".write(to: system.appDirectory.appendingPathComponent("CRASH"), atomically: true, encoding: .utf8)
        try system.setVersion("v2")
        let deploy = Task { try await pyre(["deploy", system.directory.path]) }
        let rollingBack = await eventually(within: .seconds(60)) {
            (try? await history(system))?.last.map { $0.trigger == .rollback && $0.outcome == .running } == true
        }
        #expect(rollingBack, "the agent was killed during the rollback")
        agent.signal(SIGKILL)
        _ = try? await deploy.value

        agent = try AgentProcess(system, isolation: "process")
        let restarted = agent
        defer { restarted.terminate() }
        for server in try await agent.waitForHealthy(count: 2) { #expect(try await fetch(server) == "\(server.id) v1") }
        let records = try await history(system)
        #expect(records.first { $0.number == 2 }?.outcome == .rolledBack, "\(records)")
        #expect(records.first { $0.number == 3 }?.outcome == .interrupted)
        #expect(records.last.map { $0.trigger == .rollback && $0.restores == 1 && $0.outcome == .completed } == true,
                "\(records)")
        #expect(agent.output.contains("finishing the rollback to deployment #1"), "\(agent.output)")
        let running = processes(withEnvironment: "PYRE_SYSTEM", system.name).compactMap { serverID(ofProcess: $0) }
        #expect(running.count == 2, "one fleet: \(running)")
        try await agent.stop()
    }

    /// Polls `condition` every 50 ms until it holds or `timeout` passes; returns whether it held.
    private func eventually(within timeout: Duration, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    private func history(_ system: TestSystem) async throws -> [DeploymentRecord] {
        let history = try await pyre(["history", system.directory.path, "--json"])
        return try JSONDecoder.pyre.decode([DeploymentRecord].self, from: Data(history.output.utf8))
    }
}
