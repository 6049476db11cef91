import Foundation
import PyreCore

/// Bookkeeping of one deploy while it runs: a rollout state machine per service and what the
/// in-flight I/O is about.
struct DeploymentRun {
    let number: Int
    let startedAt = ContinuousClock.now
    var machines: [String: RolloutStateMachine] = [:]
    var desired: [String: DesiredService] = [:]
    var generations: [String: Generation] = [:]
    var drains: [String: Duration] = [:]
    /// Why each server that goes, goes (recorded in `ServerDestroyed`).
    var destroyReasons: [ServerID: String] = [:]
    /// Ids handed out in this deploy, so that none is given twice.
    var issuedIDs: Set<ServerID> = []
    /// Servers being removed: late health results about them are ignored.
    var removing: Set<ServerID> = []
    var unfinished: Set<String> = []
    var failures: [String] = []
    /// New servers that died during a watch.
    var died: Set<ServerID> = []
    /// Services whose canaries passed and that stopped there, as asked.
    var paused: Set<String> = []
    /// Pending events: journaled together before `jobs` start.
    var events: [AgentEvent] = []
    var jobs: [RolloutJob] = []
    var jobsInFlight = 0

    init(number: Int) { self.number = number }

    func destroyReason(_ id: ServerID) -> String {
        destroyReasons[id] ?? "deploy #\(number) failed before it was published"
    }

    var elapsedSeconds: Double {
        (ContinuousClock.now - startedAt).timeInterval
    }
}
