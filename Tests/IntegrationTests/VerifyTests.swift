import Foundation
import PyreAPI
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
        // One vocabulary: the image digest status shows, and the files' digest labelled as such.
        let image = ImageDigest(fleet[0].image).short
        #expect(clean.output.contains("\(fleet[0].id): ok (image \(image): files hash to "), "\(clean.output)")

        // Process mode runs each server in a scratch copy of its image: tamper with one.
        let victim = fleet[0].id
        let copy = system.state.servers.appendingPathComponent(victim).appendingPathComponent("root")
        try "tampered".write(to: copy.appendingPathComponent("VERSION"), atomically: true, encoding: .utf8)

        let report = try await pyre(["verify", system.directory.path])
        #expect(report.status == 1, "drift fails verify: \(report.output)")
        #expect(report.output.contains("\(victim): drifted (image \(image): files hash to "), "\(report.output)")

        let replace = try await pyre(["verify", system.directory.path, "--replace"])
        #expect(replace.status == 0, "\(replace.output)")
        let after = try await agent.waitForHealthy(count: 2)
        #expect(!after.contains { $0.id == victim }, "the drifted server was replaced")
        #expect(after.contains { $0.id == fleet[1].id }, "the intact server stays")
        try await agent.stop()
    }
}

/// Ctrl-C while a deploy runs: the agent cancels it, journals how it ended and destroys
/// every server, old and new (`stop()` checks that nothing is left).
extension DeployTests {
    @Test(arguments: isolationModes)
    func interruptDuringDeployLeavesNothing(isolation: String) async throws {
        let system = try TestSystem(name: "intr\(isolation.prefix(2))", service: "count: 2")
        defer { system.cleanUp() }
        let agent = try AgentProcess(system, isolation: isolation)
        defer { agent.terminate() }
        _ = try await agent.waitForHealthy(count: 2)
        try system.setVersion("v2")
        let deploy = Task { try await pyre(["deploy", system.directory.path]) }
        let deadline = ContinuousClock.now + .seconds(30)
        var started = false
        while !started, ContinuousClock.now < deadline {
            started = (try? await agent.status())?.runningDeployment != nil
            if !started { try await Task.sleep(for: .milliseconds(10)) }
        }
        #expect(started, "the deploy was running when the agent was stopped")
        try await agent.stop()
        let result = try await deploy.value
        #expect(result.status != 0, "an interrupted deploy does not report success: \(result.output)")
    }
}
