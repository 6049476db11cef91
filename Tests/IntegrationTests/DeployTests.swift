import Foundation
import PyreAPI
import PyreAgent
import PyreCore
import PyreTesting
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Isolation modes this machine can run: namespaces need root and nftables.
let isolationModes: [String] = getuid() == 0 && ExternalTool.path("nft") != nil ? ["process", "namespaces"] : ["process"]

/// The real agent (`pyre up`) on the real local provider, driven through the real CLI.
@Suite(.serialized)
struct DeployTests {
    @Test(arguments: isolationModes)
    func redeployReplacesEveryServer(isolation: String) async throws {
        let system = try TestSystem(name: "redeploy\(isolation.prefix(2))")
        defer { system.cleanUp() }
        let agent = try AgentProcess(system, isolation: isolation)
        defer { agent.terminate() }
        let first = try await agent.waitForHealthy(count: 3)
        #expect(Set(first.map(\.generation)) == [1])
        for server in first {
            #expect(try await fetch(server) == "\(server.id) v1")
        }
        let endpoint = try AgentEndpoint.read(from: system.state.agentFile)
        #expect(try await httpStatus(endpoint.url + "/v1/status") == 401, "the control API needs the token")
        #expect(try await httpStatus(endpoint.url + "/v1/status", token: "wrong") == 401)
        #expect(try await httpStatus(endpoint.url + "/v1/status", token: system.state.readToken()) == 200)
        let oldPids = first.flatMap { processes(of: system, server: $0.id) }
        #expect(!oldPids.isEmpty)

        try system.setVersion("v2")
        let plan = try await pyre(["plan", system.directory.path])
        #expect(plan.status == 2, "plan exits 2 when there are changes: \(plan.output)")
        let deploy = try await pyre(["deploy", system.directory.path])
        #expect(deploy.status == 0, "\(deploy.output)")

        let second = try await agent.waitForHealthy(count: 3, excluding: Set(first.map(\.id)))
        #expect(Set(second.map(\.id)).isDisjoint(with: first.map(\.id)))
        #expect(Set(second.map(\.generation)) == [2])
        for server in second {
            #expect(try await fetch(server) == "\(server.id) v2")
        }
        for server in first {
            let left = processes(of: system, server: server.id)
            #expect(left.isEmpty, "\(server.id) still runs: \(left.map(describe(process:)))")
        }
        let again = try await pyre(["plan", system.directory.path])
        #expect(again.status == 0, "nothing left to do: \(again.output)")
        try await agent.stop()
        #expect(processes(withEnvironment: "PYRE_SYSTEM", system.name).isEmpty)
        #expect(try await agent.networkPiecesLeft().isEmpty)
    }

    @Test(arguments: isolationModes)
    func failedHealthGateLeavesOldFleetServing(isolation: String) async throws {
        let system = try TestSystem(name: "gate\(isolation.prefix(2))", service: """
        count: 2
        health: { http: /healthz, interval: 100ms, timeout: 1s, deadline: 3s }
        """)
        defer { system.cleanUp() }
        let agent = try AgentProcess(system, isolation: isolation)
        defer { agent.terminate() }
        let fleet = try await agent.waitForHealthy(count: 2)

        try "yes".write(to: system.appDirectory.appendingPathComponent("UNHEALTHY"), atomically: true, encoding: .utf8)
        try system.setVersion("broken")
        let deploy = try await pyre(["deploy", system.directory.path])
        #expect(deploy.status == 1, "a failed gate fails the deploy: \(deploy.output)")
        #expect(deploy.output.contains("web-2-"), "names the failed server: \(deploy.output)")

        let after = try await agent.waitForHealthy(count: 2)
        #expect(Set(after.map(\.id)) == Set(fleet.map(\.id)), "the old fleet is untouched")
        for server in after {
            #expect(try await fetch(server) == "\(server.id) v1")
        }
        let history = try await pyre(["history", system.directory.path, "--json"])
        let records = try JSONDecoder.pyre.decode([DeploymentRecord].self, from: Data(history.output.utf8))
        #expect(records.last?.outcome == .failed)
        try await agent.stop()
    }

    @Test(arguments: isolationModes)
    func phoenixRecreatesOldServers(isolation: String) async throws {
        let system = try TestSystem(name: "phoenix\(isolation.prefix(2))", service: """
        count: 2
        max_age: 2s
        """)
        defer { system.cleanUp() }
        let agent = try AgentProcess(system, isolation: isolation)
        defer { agent.terminate() }
        let first = try await agent.waitForHealthy(count: 2)
        let later = try await agent.waitForHealthy(count: 2, excluding: Set(first.map(\.id)), timeout: .seconds(30))
        #expect(Set(later.map(\.id)).isDisjoint(with: first.map(\.id)))
        let history = try await pyre(["history", system.directory.path, "--json"])
        let records = try JSONDecoder.pyre.decode([DeploymentRecord].self, from: Data(history.output.utf8))
        #expect(records.contains { $0.trigger == .phoenix && $0.outcome == .completed })
        try await agent.stop()
    }

    @Test(arguments: isolationModes)
    func killedServerIsReplaced(isolation: String) async throws {
        let system = try TestSystem(name: "heal\(isolation.prefix(2))", service: "count: 2")
        defer { system.cleanUp() }
        let agent = try AgentProcess(system, isolation: isolation)
        defer { agent.terminate() }
        let fleet = try await agent.waitForHealthy(count: 2)
        let victim = fleet[0]
        for pid in processes(of: system, server: victim.id) { kill(pid, SIGKILL) }
        let healed = try await agent.waitForHealthy(count: 2, excluding: [victim.id], timeout: .seconds(30))
        #expect(healed.contains { $0.id == fleet[1].id }, "the healthy server stays")
        #expect(!healed.contains { $0.id == victim.id })
        try await agent.stop()
    }

    @Test(arguments: isolationModes)
    func agentKilledMidRolloutConverges(isolation: String) async throws {
        let system = try TestSystem(name: "crashloop\(isolation.prefix(2))", service: """
        count: 3
        strategy: { max_surge: 1, max_unavailable: 0, canary: 0, watch: 0s }
        """)
        defer { system.cleanUp() }
        var agent = try AgentProcess(system, isolation: isolation)
        defer { agent.terminate() }
        let first = try await agent.waitForHealthy(count: 3)
        try system.setVersion("v2")
        let deploy = Task { try await pyre(["deploy", system.directory.path]) }
        // Kill the agent once the rollout has created its first new server.
        let deadline = ContinuousClock.now + .seconds(30)
        var midRollout = false
        while !midRollout, ContinuousClock.now < deadline {
            if let status = try? await agent.status() {
                midRollout = status.services.first?.servers.contains(where: { $0.generation == 2 }) == true
            }
            if !midRollout { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(midRollout, "the agent was killed while the rollout ran")
        agent.signal(SIGKILL)
        _ = try? await deploy.value

        agent = try AgentProcess(system, isolation: isolation)
        let restarted = agent
        defer { restarted.terminate() }
        let converged = try await agent.waitForHealthy(count: 3, excluding: Set(first.map(\.id)))
        #expect(Set(converged.map(\.id)).count == 3)
        #expect(converged.allSatisfy { $0.generation >= 2 })
        let running = processes(withEnvironment: "PYRE_SYSTEM", system.name)
        let serverIDs = Set(running.compactMap { serverID(ofProcess: $0) })
        #expect(serverIDs == Set(converged.map(\.id)), "exactly the converged servers run")
        let history = try await pyre(["history", system.directory.path, "--json"])
        let records = try JSONDecoder.pyre.decode([DeploymentRecord].self, from: Data(history.output.utf8))
        #expect(records.contains { $0.number == 2 && $0.outcome == .interrupted }, "\(history.output)")
        #expect(records.last?.trigger == .recovery && records.last?.outcome == .completed)
        try await agent.stop()
        #expect(processes(withEnvironment: "PYRE_SYSTEM", system.name).isEmpty)
        #expect(try await agent.networkPiecesLeft().isEmpty)
    }
}

func serverID(ofProcess pid: Int32) -> String? {
    guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return nil }
    for entry in data.split(separator: 0) {
        let text = String(decoding: entry, as: UTF8.self)
        if text.hasPrefix("PYRE_SERVER=") { return String(text.dropFirst("PYRE_SERVER=".count)) }
    }
    return nil
}
