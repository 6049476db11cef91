import Foundation

/// What the agent knows about one server, folded from its events.
public struct ServerRecord: Sendable, Equatable {
    public var info: ServerInfo
    public var deployment: Int
    public var healthy = false
    public var published = false
    public var destroyed = false
    public var destroyReason: String?
    public var destroyedAt: Date?

    public init(info: ServerInfo, deployment: Int) {
        self.info = info
        self.deployment = deployment
    }
}

public struct DeploymentRecord: Sendable, Equatable, Codable {
    public enum Outcome: String, Sendable, Codable, Equatable {
        case running, completed, failed
        /// The agent stopped while it ran; the next start converged instead.
        case interrupted
        /// Its canaries passed and it waits for `pyre promote`.
        case paused
        /// It failed and a rollback (``DeploymentRecord/rolledBackBy``) undid it.
        case rolledBack = "rolled back"
    }

    public var number: Int
    public var trigger: DeployTrigger
    public var services: [String]
    public var startedAt: Date
    public var finishedAt: Date?
    public var outcome: Outcome
    public var reason: String?
    public var created: [ServerID] = []
    public var destroyed: [ServerID] = []
    /// A rollback: the deployment whose release it deploys again.
    public var restores: Int?
    /// The rollback that undid this failed deployment.
    public var rolledBackBy: Int?
    /// The release itself failed (a canary or fleet watch, or a crash loop right after it),
    /// not only a step of its rollout: rolling back is the answer.
    public var releaseFailed = false

    public var duration: TimeInterval? { finishedAt.map { $0.timeIntervalSince(startedAt) } }
}

/// The agent's state: a pure fold of its ``AgentEvent``s.
public struct AgentState: Sendable, Equatable {
    public private(set) var servers: [ServerID: ServerRecord] = [:]
    public private(set) var deployments: [DeploymentRecord] = []
    /// Highest generation ever used per service: new servers get a higher one.
    public private(set) var lastGeneration: [String: Generation] = [:]
    /// The images the live servers ran when each completed deployment finished, by number.
    public private(set) var imagesAfterDeployment: [Int: Set<ImageDigest>] = [:]
    /// What each deployment that recorded one rolled out, by number.
    public private(set) var releases: [Int: Release] = [:]
    /// The image of each server not destroyed, kept as the events come so a completion
    /// need not look at every server ever made.
    private var liveImages: [ServerID: ImageDigest] = [:]

    public init() {}

    public init(replaying events: some Sequence<AgentEvent>) {
        for event in events { apply(event) }
    }

    /// Servers not yet destroyed.
    public var liveServers: [ServerRecord] {
        servers.values.filter { !$0.destroyed }.sorted { $0.info.id < $1.info.id }
    }

    public var runningDeployment: DeploymentRecord? {
        deployments.last.flatMap { $0.outcome == .running ? $0 : nil }
    }

    public var nextDeploymentNumber: Int { (deployments.last?.number ?? 0) + 1 }

    public func nextGeneration(of service: String) -> Generation { (lastGeneration[service] ?? 0) + 1 }

    /// The last server of `service` that died (exited, was killed or failed health), and how.
    public func lastDeath(of service: String) -> ServerRecord? {
        servers.values.filter { $0.info.service == service && $0.destroyReason.map(ReplaceReason.isDeath) == true }
            .max { ($0.destroyedAt ?? .distantPast) < ($1.destroyedAt ?? .distantPast) }
    }

    /// The release the system runs: that of the last completed deployment that recorded one,
    /// with its number (a paused deployment's canaries stand beside it).
    public var currentRelease: (number: Int, release: Release)? {
        for record in deployments.reversed() where record.outcome == .completed {
            if let release = releases[record.number] { return (record.number, release) }
        }
        return nil
    }

    /// The release a rollback from the current one deploys: the last completed deployment
    /// before the current release whose release differs from it.
    public var previousRelease: (number: Int, release: Release)? {
        guard let current = currentRelease else { return nil }
        for record in deployments.reversed() where record.number < current.number && record.outcome == .completed {
            if let release = releases[record.number], !release.sameContent(as: current.release) {
                return (record.number, release)
            }
        }
        return nil
    }

    /// The deployment whose release a rollback must still finish: a rollback the agent's
    /// stop cut short (or that never started after the failure was recorded).
    public var unfinishedRollback: (number: Int, release: Release)? {
        guard let last = deployments.last else { return nil }
        let rollback: DeploymentRecord?
        if last.trigger == .rollback, last.outcome == .running || last.outcome == .interrupted {
            rollback = last
        } else {
            rollback = nil
        }
        guard let rollback, let release = releases[rollback.number], let origin = release.origin else { return nil }
        return (origin, release)
    }

    /// The images to keep so the system can go back: those of live servers (as the journal
    /// knows them), and those the fleet ran after each of the last `deployments` completed
    /// deployments that changed which images run. Deployments that only replaced servers
    /// with the same images (healing, phoenix, drift) or left none (`pyre destroy`) do not
    /// count, so they cannot push a release out of the window.
    public func imagesToKeep(lastDeployments deployments: Int) -> Set<ImageDigest> {
        var keep = Set(liveImages.values)
        var counted = 0
        var newer: Set<ImageDigest>?
        for record in self.deployments.reversed() where counted < deployments {
            guard record.outcome == .completed, let images = imagesAfterDeployment[record.number],
                  !images.isEmpty, images != newer else { continue }
            keep.formUnion(images)
            newer = images
            counted += 1
        }
        return keep
    }

    public mutating func apply(_ event: AgentEvent) {
        switch event {
        case let .deploymentStarted(number, trigger, services, at):
            // A deployment still running when a new one starts was cut short by an agent stop.
            if let last = deployments.indices.last, deployments[last].outcome == .running {
                deployments[last].outcome = .interrupted
                deployments[last].finishedAt = at
            }
            deployments.append(DeploymentRecord(number: number, trigger: trigger, services: services,
                                                startedAt: at, outcome: .running))
        case let .serverCreated(deployment, info):
            servers[info.id] = ServerRecord(info: info, deployment: deployment)
            liveImages[info.id] = info.image
            lastGeneration[info.service] = max(lastGeneration[info.service] ?? 0, info.generation)
            updateDeployment(deployment) { $0.created.append(info.id) }
        case let .serverHealthy(_, id, _):
            servers[id]?.healthy = true
        case let .serverFailed(_, id, _, _, _):
            servers[id]?.healthy = false
        case let .serverPublished(id, _):
            servers[id]?.published = true
        case let .serverUnpublished(id, _, _):
            servers[id]?.published = false
        case .serverDrained:
            break
        case let .serverDestroyed(id, reason, at):
            guard servers[id]?.destroyed == false else { return }
            servers[id]?.destroyed = true
            liveImages[id] = nil
            servers[id]?.published = false
            servers[id]?.destroyReason = reason
            servers[id]?.destroyedAt = at
            if let last = deployments.indices.last, deployments[last].outcome == .running {
                deployments[last].destroyed.append(id)
            }
        case let .deploymentCompleted(number, at):
            updateDeployment(number) {
                $0.outcome = .completed
                $0.finishedAt = at
            }
            imagesAfterDeployment[number] = Set(liveImages.values)
        case let .deploymentFailed(number, reason, at):
            updateDeployment(number) {
                $0.outcome = .failed
                $0.reason = reason
                $0.finishedAt = at
            }
        case let .releaseRecorded(number, release):
            var release = release
            if let origin = release.origin, origin != number {
                updateDeployment(number) { $0.restores = origin }
            } else {
                release.origin = number
            }
            releases[number] = release
        case let .decision(number, decision):
            if !decision.passed, decision.kind != .gate, decision.kind != .rollback {
                updateDeployment(number) { $0.releaseFailed = true }
            }
        case let .deploymentPaused(number, at):
            updateDeployment(number) {
                $0.outcome = .paused
                $0.finishedAt = at
            }
        case let .deploymentRolledBack(number, by, _, _):
            updateDeployment(number) {
                $0.outcome = .rolledBack
                $0.rolledBackBy = by
            }
        }
    }

    private mutating func updateDeployment(_ number: Int, _ change: (inout DeploymentRecord) -> Void) {
        guard let index = deployments.lastIndex(where: { $0.number == number }) else { return }
        change(&deployments[index])
    }
}
