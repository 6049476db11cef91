import Foundation
import PyreAgent
import PyreCore
import Testing

/// `pyre verify` against a server whose files were changed behind Pyre's back.
extension DeployTests {
    @Test func driftIsReportedAndReplaced() async throws {
        let system = try TestSystem(name: "drift", service: "count: 2")
        defer { system.cleanUp() }
        let agent = try AgentProcess(system, isolation: "process")
        defer { agent.terminate() }
        let fleet = try await agent.waitForHealthy(count: 2)

        let clean = try await pyre(["verify", system.directory.path])
        #expect(clean.status == 0, "\(clean.output)")

        // Process mode runs each server in a scratch copy of its image: tamper with one.
        let victim = fleet[0].id
        let copy = system.state.servers.appendingPathComponent(victim).appendingPathComponent("root")
        try "tampered".write(to: copy.appendingPathComponent("VERSION"), atomically: true, encoding: .utf8)

        let report = try await pyre(["verify", system.directory.path])
        #expect(report.status == 1, "drift fails verify: \(report.output)")
        #expect(report.output.contains("\(victim): drifted"))

        let replace = try await pyre(["verify", system.directory.path, "--replace"])
        #expect(replace.status == 0, "\(replace.output)")
        let after = try await agent.waitForHealthy(count: 2)
        #expect(!after.contains { $0.id == victim }, "the drifted server was replaced")
        #expect(after.contains { $0.id == fleet[1].id }, "the intact server stays")
        try await agent.stop()
    }
}
