import Foundation
import Testing
import PyreCore

/// Which images `pyre image gc` and the agent's prune keep: the live servers' and those the
/// fleet ran after the last N deployments that changed which images run.
@Suite struct ImagesToKeepTests {
    /// Builds a history one deployment at a time; each replaces the whole fleet.
    struct History {
        var events: [AgentEvent] = []
        var live: [ServerID] = []
        var number = 0

        /// A deployment whose fleet, once it completes, runs `images` (one server each).
        mutating func deploy(_ images: [String], trigger: DeployTrigger = .manual, outcome: DeploymentRecord.Outcome = .completed) {
            number += 1
            let at = Date(timeIntervalSince1970: 1_700_000_000 + Double(number) * 100)
            events.append(.deploymentStarted(deployment: number, trigger: trigger, services: ["web"], at: at))
            var created: [ServerID] = []
            for (index, image) in images.enumerated() {
                let id = ServerID("web-\(number)-\(index)")
                events.append(.serverCreated(deployment: number, server: ServerInfo(
                    id: id, service: "web", generation: number, image: ImageDigest("sha256:" + image), configHash: "c",
                    address: "127.0.0.2", port: 8080, createdAt: at, state: .running)))
                created.append(id)
            }
            if outcome == .failed {
                // A failed gate: the new servers go, the old fleet stays.
                for id in created { events.append(.serverDestroyed(id: id, reason: "failed", at: at)) }
                events.append(.deploymentFailed(deployment: number, reason: "gate", at: at))
                return
            }
            for id in live { events.append(.serverDestroyed(id: id, reason: "replaced", at: at)) }
            live = created
            events.append(.deploymentCompleted(deployment: number, at: at))
        }

        var state: AgentState { AgentState(replaying: events) }
    }

    func digests(_ names: String...) -> Set<ImageDigest> { Set(names.map { ImageDigest("sha256:" + $0) }) }

    @Test func theLastDeploymentsThatChangedImagesAreKept() {
        var history = History()
        history.deploy(["a"])
        history.deploy(["b"])
        history.deploy(["c", "c2"])
        history.deploy(["d"])
        #expect(history.state.imagesToKeep(lastDeployments: 1) == digests("d"))
        #expect(history.state.imagesToKeep(lastDeployments: 3) == digests("d", "c", "c2", "b"))
        #expect(history.state.imagesToKeep(lastDeployments: 10) == digests("d", "c", "c2", "b", "a"))
        #expect(history.state.imagesToKeep(lastDeployments: 0) == digests("d"), "the live servers' always")
    }

    @Test func healingPhoenixAndDestroyDoNotPushAReleaseOut() {
        var history = History()
        history.deploy(["a"])
        history.deploy(["b"])
        history.deploy(["b"], trigger: .phoenix)
        history.deploy(["b"], trigger: .heal)
        history.deploy(["b"], trigger: .drift)
        history.deploy([], trigger: .manual)
        #expect(history.state.imagesToKeep(lastDeployments: 2) == digests("b", "a"),
                "same-image deployments and an empty fleet count for nothing")
        history.deploy(["a"])
        #expect(history.state.imagesToKeep(lastDeployments: 2) == digests("a", "b"), "going back to a counts")
    }

    @Test func failedDeploymentsDoNotCountAndTheirLiveServersAreKept() {
        var history = History()
        history.deploy(["a"])
        history.deploy(["b"])
        history.deploy(["broken"], outcome: .failed)
        #expect(history.state.imagesToKeep(lastDeployments: 1) == digests("b"))
        // A deploy cut short by an agent stop leaves its new server live in the journal.
        history.events.append(.deploymentStarted(deployment: 4, trigger: .manual, services: ["web"], at: Date()))
        history.events.append(.serverCreated(deployment: 4, server: ServerInfo(
            id: ServerID("web-4-0"), service: "web", generation: 4, image: ImageDigest("sha256:new"), configHash: "c",
            address: "127.0.0.2", port: 8080, createdAt: Date(), state: .running)))
        #expect(history.state.imagesToKeep(lastDeployments: 1) == digests("b", "new"))
    }
}
