import Foundation
import Logging
import PyreCore
import PyreTesting
import Testing
@testable import PyreAgent

/// The agent in-process, on a fake backend (servers in memory, health told by the test):
/// what it does, and in which order, when it deploys, reports and stops.
@Suite struct AgentSequencingTests {
    @Test func aDeployCreatesTheServersThatStatusThenShowsHealthyAndPublished() async throws {
        try await withAgent { agent, backend, _ in
            let record = try await agent.deploy(progress: { _ in })
            #expect(record.outcome == .completed)
            #expect(backend.memory.created.count == 2)
            #expect(backend.events.contains("prepareDeploy web"))

            let status = try await agent.status()
            let web = try #require(status.services.first { $0.name == "web" })
            #expect(web.count == 2)
            #expect(web.servers.count == 2)
            #expect(web.servers.allSatisfy { $0.health == .healthy && $0.published })
            // Servers are told where the agent's services are, by the backend's rule.
            #expect(!backend.environments.isEmpty)
            #expect(backend.environments.allSatisfy { $0["PYRE_FAKE_DNS"]?.hasPrefix(backend.systemAddress + ":") == true })
        }
    }

    @Test func statusReportsAServerThatDiedAsExited() async throws {
        try await withAgent { agent, backend, _ in
            _ = try await agent.deploy(progress: { _ in })
            let victim = try #require(backend.memory.created.first)
            backend.memory.kill(victim)
            let servers = try await agent.status().services.flatMap(\.servers)
            #expect(servers.first { $0.id == victim.rawValue }?.health == .exited)
            #expect(servers.filter { $0.id != victim.rawValue }.allSatisfy { $0.health == .healthy })
        }
    }

    @Test func shutdownEndsOperationsThenDestroysServersThenTearsDown() async throws {
        try await withAgent(stop: false) { agent, backend, running in
            _ = try await agent.deploy(progress: { _ in })
            let started = AsyncStream.makeStream(of: Void.self)
            _ = try await agent.run {
                started.continuation.yield()
                try? await Task.sleep(for: .seconds(600))
                backend.note("operation ended (cancelled: \(Task.isCancelled))")
            }
            for await _ in started.stream { break }
            await running.stop()
            try await running.finished()

            let events = backend.events
            let ended = try #require(events.firstIndex(of: "operation ended (cancelled: true)"))
            let teardown = try #require(events.firstIndex(of: "teardown with 0 servers"))
            #expect(ended < teardown)
            #expect(backend.memory.destroyed.count == 2)
            #expect(try await backend.memory.list().isEmpty)
            // A stopping agent takes no new operation.
            await #expect(throws: PyreError.self) { _ = try await agent.run {} }
            let agentFile = await agent.state.agentFile
            #expect(!FileManager.default.fileExists(atPath: agentFile.path))
        }
    }

    @Test func aDeployRefusesAChangeTheAgentReadsOnlyAtStart() async throws {
        try await withAgent { agent, backend, _ in
            let manifest = await agent.configuration.systemDirectory.appendingPathComponent("pyre.yml")
            let original = try String(contentsOf: manifest, encoding: .utf8)
            let changed = original.split(separator: "\n", omittingEmptySubsequences: false)
                .map { $0.hasPrefix("events:") ? "events: { port: 7999 }" : String($0) }.joined(separator: "\n")
            try (changed + "\ndns: { listen: \"127.0.0.1:5399\" }\n").write(to: manifest, atomically: true, encoding: .utf8)
            let error = await #expect(throws: PyreError.self) { try await agent.deploy(progress: { _ in }) }
            #expect(error?.message.hasPrefix("restart the agent to apply: events, dns.listen (") == true, "\(String(describing: error))")
            #expect(backend.memory.created.count == 2, "the deploy created servers although it was refused")

            // Back as it was started, the manifest deploys again.
            try original.write(to: manifest, atomically: true, encoding: .utf8)
            #expect(try await agent.deploy(progress: { _ in }).outcome == .completed)
        }
    }

    /// When the syslog port is taken, the start fails and undoes the backend's preparation.
    @Test func aStartThatCannotBindUndoesThePreparation() async throws {
        let backend = FakeBackend()
        let holder = try TCPListener(host: backend.systemAddress)
        await #expect(throws: PyreError.self) {
            try await withAgent(backend: backend, logsPort: holder.port) { _, _, _ in
                Issue.record("the agent started although its syslog port was taken")
            }
        }
        #expect(backend.events == ["prepare", "teardown with 0 servers"])
        withExtendedLifetime(holder) {}
    }

    /// An entry point that cannot listen fails the start after syslog and DNS were up: they
    /// are closed again, so their ports are free.
    @Test func aStartThatFailsLateClosesWhatItOpened() async throws {
        let holder = try TCPListener(host: "127.0.0.1")
        let backend = FakeBackend()
        let logsPort = try freeLoopbackPort(on: backend.systemAddress)
        await #expect(throws: PyreError.self) {
            try await withAgent(backend: backend, logsPort: logsPort, manifestExtra: """
                entrypoints:
                  public: { listen: "127.0.0.1:\(holder.port)", service: web }
                """) { _, _, _ in
                Issue.record("the agent started although its entry point's port was taken")
            }
        }
        #expect(backend.events == ["prepare", "teardown with 0 servers"])
        // The syslog receiver let go of its port.
        _ = try TCPListener(host: backend.systemAddress, port: logsPort)
        withExtendedLifetime(holder) {}
    }

    /// The events API, the last listener to open before recovery, cannot listen: the listeners
    /// opened before it close and the preparation is undone; no recovery or deploy runs.
    @Test func aStartWhoseEventsAPICannotListenUndoesEverything() async throws {
        let backend = FakeBackend()
        let holder = try TCPListener(host: backend.systemAddress)
        let logsPort = try freeLoopbackPort(on: backend.systemAddress)
        await #expect(throws: (any Error).self) {
            try await withAgent(backend: backend, logsPort: logsPort, eventsPort: holder.port) { _, _, _ in
                Issue.record("the agent started although its events API's port was taken")
            }
        }
        #expect(backend.events == ["prepare", "teardown with 0 servers"])
        _ = try TCPListener(host: backend.systemAddress, port: logsPort)
        withExtendedLifetime(holder) {}
    }
}
