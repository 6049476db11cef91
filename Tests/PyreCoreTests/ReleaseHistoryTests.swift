import Foundation
import PyreCore
import Testing

/// How the journal's fold knows which release runs, which one a rollback restores, and a
/// rollback a stopped agent must finish.
@Suite struct ReleaseHistoryTests {
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    func release(_ version: String, origin: Int? = nil) -> Release {
        Release(origin: origin, manifest: "system: shop # \(version)", images: ["web": ImageDigest("sha256:\(version)")])
    }

    func deployment(_ number: Int, trigger: DeployTrigger = .manual, release: Release?, ending: AgentEvent?) -> [AgentEvent] {
        [.deploymentStarted(deployment: number, trigger: trigger, services: ["web"], at: start)]
            + (release.map { [.releaseRecorded(deployment: number, release: $0)] } ?? [])
            + (ending.map { [$0] } ?? [])
    }

    func completed(_ number: Int) -> AgentEvent { .deploymentCompleted(deployment: number, at: start) }

    @Test func aReleaseIsItsOwnOriginAndHealsDoNotChangeIt() {
        let state = AgentState(replaying: deployment(1, release: release("v1"), ending: completed(1))
            + deployment(2, release: release("v2"), ending: completed(2))
            + deployment(3, trigger: .heal, release: nil, ending: completed(3)))
        #expect(state.currentRelease?.number == 2 && state.currentRelease?.release.origin == 2)
        #expect(state.previousRelease?.number == 1)
        #expect(state.deployments.allSatisfy { $0.restores == nil })
    }

    @Test func aFailedWatchMarksTheReleaseAndItsRollbackNamesBothSides() {
        let watch = DeployDecision(kind: .canaryWatch, service: "web", servers: [ServerID("web-2-aaaa")], passed: false,
                                   detail: "exited", at: start)
        let gate = DeployDecision(kind: .gate, service: "web", servers: [ServerID("web-2-bbbb")], passed: false,
                                  detail: "refused", at: start)
        let state = AgentState(replaying: deployment(1, release: release("v1"), ending: completed(1))
            + deployment(2, release: release("v2"), ending: .decision(deployment: 2, gate))
            + [.decision(deployment: 2, watch), .deploymentFailed(deployment: 2, reason: "canary", at: start)]
            + deployment(3, trigger: .rollback, release: release("v1", origin: 1),
                         ending: .deploymentRolledBack(deployment: 2, by: 3, restoring: 1, at: start))
            + [completed(3)])
        let failed = state.deployments[1]
        #expect(failed.outcome == .rolledBack && failed.rolledBackBy == 3 && failed.releaseFailed)
        #expect(state.deployments[2].restores == 1 && state.deployments[2].outcome == .completed)
        // The rollback runs #1's release: going back from it finds nothing older and different.
        #expect(state.currentRelease?.number == 3 && state.currentRelease?.release.origin == 1)
        #expect(state.previousRelease == nil)
        #expect(state.unfinishedRollback == nil)
    }

    @Test func aGateFailureAloneIsNotAReleaseFailure() {
        let gate = DeployDecision(kind: .gate, service: "web", servers: [], passed: false, detail: "refused", at: start)
        let state = AgentState(replaying: deployment(1, release: release("v1"), ending: .decision(deployment: 1, gate)))
        #expect(!state.deployments[0].releaseFailed)
    }

    @Test func aRollbackTheAgentsStopCutShortIsStillToFinish() {
        let events = deployment(1, release: release("v1"), ending: completed(1))
            + deployment(2, release: release("v2"), ending: .deploymentFailed(deployment: 2, reason: "watch", at: start))
            + deployment(3, trigger: .rollback, release: release("v1", origin: 1),
                         ending: .deploymentRolledBack(deployment: 2, by: 3, restoring: 1, at: start))
        let state = AgentState(replaying: events)
        #expect(state.unfinishedRollback?.number == 1)
        #expect(state.unfinishedRollback?.release.sameContent(as: release("v1")) == true)
        let finished = AgentState(replaying: events + [completed(3)])
        #expect(finished.unfinishedRollback == nil)
    }

    @Test func aPausedDeploymentIsNotTheCurrentRelease() {
        let state = AgentState(replaying: deployment(1, release: release("v1"), ending: completed(1))
            + deployment(2, release: release("v2"), ending: .deploymentPaused(deployment: 2, at: start)))
        #expect(state.deployments[1].outcome == .paused)
        #expect(state.currentRelease?.number == 1)
    }

    @Test func aDeathSaysHowTheProcessEnded() {
        #expect(ReplaceReason.exited(status: 3).description == "exited with status 3")
        #expect(ReplaceReason.exited(status: 137).description == "killed by signal 9 (SIGKILL)")
        #expect(ReplaceReason.isDeath("killed by signal 15 (SIGTERM)") && !ReplaceReason.isDeath("replaced (drifted)"))
    }
}
