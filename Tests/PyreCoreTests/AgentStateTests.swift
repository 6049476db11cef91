import Foundation
import Testing
import PyreCore

@Suite struct AgentStateTests {
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    func at(_ seconds: TimeInterval) -> Date { start.addingTimeInterval(seconds) }

    func server(_ id: String, service: String = "web", generation: Generation) -> ServerInfo {
        ServerInfo(id: ServerID(id), service: service, generation: generation, image: ImageDigest("sha256:aa"),
                   configHash: "c0ffee", address: "127.0.0.2", port: 8080, createdAt: start, state: .running)
    }

    /// Deployment 1 creates web-1-aaaa; deployment 2 replaces it with web-2-bbbb.
    var twoDeployments: [AgentEvent] {
        [
            .deploymentStarted(deployment: 1, trigger: .manual, services: ["web"], at: at(0)),
            .serverCreated(deployment: 1, server: server("web-1-aaaa", generation: 1)),
            .serverHealthy(deployment: 1, id: ServerID("web-1-aaaa"), at: at(1)),
            .serverPublished(id: ServerID("web-1-aaaa"), at: at(1)),
            .deploymentCompleted(deployment: 1, at: at(2)),
            .deploymentStarted(deployment: 2, trigger: .phoenix, services: ["web"], at: at(10)),
            .serverCreated(deployment: 2, server: server("web-2-bbbb", generation: 2)),
            .serverHealthy(deployment: 2, id: ServerID("web-2-bbbb"), at: at(11)),
            .serverPublished(id: ServerID("web-2-bbbb"), at: at(11)),
            .serverUnpublished(id: ServerID("web-1-aaaa"), reason: "replaced", at: at(12)),
            .serverDrained(id: ServerID("web-1-aaaa"), at: at(13)),
            .serverDestroyed(id: ServerID("web-1-aaaa"), reason: "replaced", at: at(13)),
            .deploymentCompleted(deployment: 2, at: at(14)),
        ]
    }

    @Test func emptyStateStartsAtOne() {
        let state = AgentState()
        #expect(state.liveServers.isEmpty)
        #expect(state.deployments.isEmpty)
        #expect(state.runningDeployment == nil)
        #expect(state.nextDeploymentNumber == 1)
        #expect(state.nextGeneration(of: "web") == 1)
    }

    @Test func foldsDeploymentsAndServers() throws {
        let state = AgentState(replaying: twoDeployments)

        #expect(state.deployments.map(\.number) == [1, 2])
        #expect(state.deployments.map(\.outcome) == [.completed, .completed])
        #expect(state.deployments.map(\.trigger) == [.manual, .phoenix])
        let second = state.deployments[1]
        #expect(second.created == [ServerID("web-2-bbbb")])
        #expect(second.destroyed == [ServerID("web-1-aaaa")])
        #expect(second.duration == 4)
        #expect(state.deployments[0].destroyed.isEmpty)

        #expect(state.liveServers.map(\.info.id) == [ServerID("web-2-bbbb")])
        let live = try #require(state.liveServers.first)
        #expect(live.healthy && live.published && live.deployment == 2)
        let old = try #require(state.servers[ServerID("web-1-aaaa")])
        #expect(old.destroyed && !old.published)
        #expect(old.destroyReason == "replaced")
        #expect(state.nextDeploymentNumber == 3)
        #expect(state.runningDeployment == nil)
    }

    @Test func nextGenerationFollowsTheHighestGenerationPerService() {
        var state = AgentState(replaying: twoDeployments)
        #expect(state.nextGeneration(of: "web") == 3)
        #expect(state.nextGeneration(of: "worker") == 1)

        // A lower generation arriving later (an old server adopted on recovery) never lowers it.
        state.apply(.deploymentStarted(deployment: 3, trigger: .recovery, services: ["web", "worker"], at: at(20)))
        state.apply(.serverCreated(deployment: 3, server: server("web-1-cccc", generation: 1)))
        state.apply(.serverCreated(deployment: 3, server: server("worker-4-dddd", service: "worker", generation: 4)))
        #expect(state.nextGeneration(of: "web") == 3)
        #expect(state.nextGeneration(of: "worker") == 5)
    }

    @Test func deploymentCutShortByAnAgentStopIsInterrupted() throws {
        var events = Array(twoDeployments.prefix(7))  // deployment 2 created a server, then the agent died
        events.append(.deploymentStarted(deployment: 3, trigger: .recovery, services: ["web"], at: at(30)))
        let state = AgentState(replaying: events)

        #expect(state.deployments.map(\.outcome) == [.completed, .interrupted, .running])
        #expect(state.deployments[1].finishedAt == at(30))
        #expect(state.runningDeployment?.number == 3)
        #expect(state.runningDeployment?.trigger == .recovery)
        // The half-made server stays live, so recovery can see and destroy or adopt it.
        #expect(state.liveServers.map(\.info.id) == [ServerID("web-1-aaaa"), ServerID("web-2-bbbb")])
    }

    @Test func failedGateMarksServerUnhealthyAndDeploymentFailed() throws {
        var events = Array(twoDeployments.prefix(7))
        events += [
            .serverFailed(deployment: 2, id: ServerID("web-2-bbbb"), reason: "health deadline", output: ["boom"], at: at(40)),
            .serverDestroyed(id: ServerID("web-2-bbbb"), reason: "failed health gate", at: at(41)),
            .deploymentFailed(deployment: 2, reason: "web-2-bbbb failed its health gate", at: at(42)),
        ]
        let state = AgentState(replaying: events)

        let failed = try #require(state.deployments.last)
        #expect(failed.outcome == .failed)
        #expect(failed.reason == "web-2-bbbb failed its health gate")
        #expect(failed.destroyed == [ServerID("web-2-bbbb")])
        #expect(state.servers[ServerID("web-2-bbbb")]?.healthy == false)
        // The old fleet is untouched.
        #expect(state.liveServers.map(\.info.id) == [ServerID("web-1-aaaa")])
        #expect(state.liveServers.first?.published == true)
    }

    @Test func destroyingTwiceCountsOnce() {
        var events = twoDeployments
        events.insert(.serverDestroyed(id: ServerID("web-1-aaaa"), reason: "again", at: at(13)), at: 12)
        let state = AgentState(replaying: events)
        #expect(state.deployments[1].destroyed == [ServerID("web-1-aaaa")])
        #expect(state.servers[ServerID("web-1-aaaa")]?.destroyReason == "replaced")
    }

    @Test func destroyOutsideADeploymentIsNotCountedInTheLastOne() {
        var events = twoDeployments
        events.append(.deploymentStarted(deployment: 3, trigger: .heal, services: ["web"], at: at(50)))
        events.append(.deploymentCompleted(deployment: 3, at: at(51)))
        events.append(.serverDestroyed(id: ServerID("web-2-bbbb"), reason: "agent stopped", at: at(60)))
        let state = AgentState(replaying: events)
        #expect(state.deployments[2].destroyed.isEmpty)
        #expect(state.liveServers.isEmpty)
    }
}
