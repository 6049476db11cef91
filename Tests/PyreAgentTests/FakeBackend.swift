import Foundation
import Logging
import PyreCore
import PyreTesting
import ServiceLifecycle
import Synchronization
@testable import PyreAgent

/// Runs `body` with a started agent for a two-server system on `backend` (`manifestExtra`
/// is added to its pyre.yml); shuts the agent down after, unless `stop` is false (the body
/// does).
func withAgent(backend: FakeBackend = FakeBackend(), logsPort: Int? = nil, manifestExtra: String = "", stop: Bool = true,
                       _ body: (Agent, FakeBackend) async throws -> Void) async throws {
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
        \(manifestExtra)
        """.write(to: directory.appendingPathComponent("pyre.yml"), atomically: true, encoding: .utf8)
    let configuration = AgentConfiguration(systemDirectory: directory, isolation: .process)
    let agent = try await Agent(configuration: configuration, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() },
                                backend: { _ in backend })
    try await agent.start()
    do {
        try await body(agent, backend)
    } catch {
        await agent.shutdown(progress: { _ in })
        throw error
    }
    if stop { await agent.shutdown(progress: { _ in }) }
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
    func imageLocation(of recipe: ImageRecipe, bakedAt root: URL) throws -> ImageLocation { .directory(root) }
    func prepareDeploy(_ spec: SystemSpec, services: [DesiredService]) async throws {
        note("prepareDeploy \(services.map(\.spec.name).joined(separator: ","))")
    }
    func tick() async {}
    var services: [any Service] { [] }
    var startupLines: [String] { [] }
    func abandonServers() async { note("abandon") }
    func teardown() async throws { note("teardown with \((try? await memory.list())?.count ?? -1) servers") }
}
