import Foundation
import Logging
import PyreCore
import PyreTesting
import ServiceLifecycle
import Synchronization
@testable import PyreAgent

/// Runs `body` with an agent for a two-server system on `backend` (`manifestExtra` is added to
/// its pyre.yml), its services running as `pyre up` runs them and the first deploy done;
/// shuts the group down after, unless `stop` is false (the body does, through the handle).
func withAgent(backend: FakeBackend = FakeBackend(), logsPort: Int? = nil, eventsPort: Int? = nil, manifestExtra: String = "",
               stop: Bool = true,
               _ body: (Agent, FakeBackend, RunningAgent) async throws -> Void) async throws {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-agent-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory.appendingPathComponent("app"), withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    try Data("print('hi')\n".utf8).write(to: directory.appendingPathComponent("app/app.py"))
    try """
        system: inproc
        images:
          web: { context: ./app, run: [python3, app.py] }
        services:
          web: { image: web, count: 2, port: 8080, drain: 0s, health: { http: /healthz, interval: 50ms } }
        logs: { port: \(try logsPort ?? freeLoopbackPort(on: backend.systemAddress)), \
        relp_port: \(try freeLoopbackPort(on: backend.systemAddress)) }
        events: { port: \(try eventsPort ?? freeLoopbackPort(on: backend.systemAddress)) }
        \(manifestExtra)
        """.write(to: directory.appendingPathComponent("pyre.yml"), atomically: true, encoding: .utf8)
    // No tick during a test: what it checks is what the test did.
    let configuration = AgentConfiguration(systemDirectory: directory, isolation: .process, watchInterval: .seconds(3600))
    let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
    let agent = try await Agent(configuration: configuration, logger: logger, backend: { _ in backend })
    let running = try RunningAgent(agent: agent, logger: logger)
    do {
        try await running.started()
        try await body(agent, backend, running)
    } catch {
        await running.stop()
        _ = try? await running.finished()
        throw error
    }
    if stop { await running.stop() }
    try await running.finished()
}

/// An agent's service group running in a task of the test's.
struct RunningAgent {
    let services: AgentServices
    let task: Task<Void, any Error>
    private let ended = Gate("group ended")

    init(agent: Agent, logger: Logger) throws {
        let services = try AgentServices(agent: agent, console: { _ in }, logger: logger)
        self.services = services
        task = Task { [ended] in
            defer { ended.open() }
            try await services.group.run()
        }
    }

    /// Returns once the first deploy has ended; throws what failed the start.
    func started() async throws {
        let deployed = services.deployed, ended = ended
        let deployedFirst = await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await deployed.wait()) != nil }
            group.addTask { _ = try? await ended.wait(); return false }
            defer { group.cancelAll() }
            return await group.next() ?? false
        }
        if !deployedFirst {
            try await task.value
            throw PyreError(.agent, "the agent's services ended before the first deploy")
        }
    }

    /// As SIGTERM does.
    func stop() async { await services.group.triggerGracefulShutdown() }

    func finished() async throws { try await task.value }
}

/// A backend whose servers live in memory and always pass their checks; it notes each of
/// its steps, and the environment of every server the agent asks for.
final class FakeBackend: SystemBackend, @unchecked Sendable {
    let memory = InMemoryProvider()
    let notes = Mutex<[String]>([])
    let seenEnvironments = Mutex<[[String: String]]>([])

    var events: [String] { notes.withLock { $0 } }
    var environments: [[String: String]] { seenEnvironments.withLock { $0 } }
    func note(_ event: String) { notes.withLock { $0.append(event) } }

    var provider: any ServerProvider { memory }
    var health: any HealthChecker { FakeHealthChecker(provider: memory) }
    var publisher: (any ServerPublisher)? { nil }
    /// A loopback address of its own (127.253/16, outside the local provider's 127.100-249
    /// prefixes), so a port found free on it is not taken by another test meanwhile.
    let systemAddress = "127.253.\(UInt8.random(in: 0...255)).\(UInt8.random(in: 1...254))"
    var dnsPort: Int { 0 }

    func serverEnvironment(_ services: AgentServiceAddresses) -> [String: String] {
        let environment = ["PYRE_FAKE_DNS": services.dns]
        seenEnvironments.withLock { $0.append(environment) }
        return environment
    }

    func prepare() async throws { note("prepare") }
    func imageLocation(of recipe: ImageRecipe, digest: ImageDigest, bakedAt root: URL) throws -> ImageLocation { .directory(root) }
    func validate(_ spec: SystemSpec) throws {}
    func prepareDeploy(_ spec: SystemSpec, services: [DesiredService]) async throws {
        note("prepareDeploy \(services.map(\.spec.name).joined(separator: ","))")
    }
    func tick() async {}
    var services: [any Service] { [] }
    var startupLines: [String] { [] }
    func teardown() async throws { note("teardown with \((try? await memory.list())?.count ?? -1) servers") }
}
