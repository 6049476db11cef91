import Foundation

/// Why a deployment ran.
public enum DeployTrigger: String, Sendable, Codable, Equatable {
    /// `pyre up` or `pyre deploy`.
    case manual
    /// Servers older than `max_age` (phoenix).
    case phoenix
    /// Servers that died or failed health (self-healing).
    case heal
    /// The agent started and brought the provider back to the declared state.
    case recovery
    /// `pyre verify --replace` found drifted servers.
    case drift
    /// A release went back to an earlier one: automatically after a failed canary or watch,
    /// or by `pyre rollback`.
    case rollback
    /// `pyre promote` carried on with a release whose canaries passed.
    case promote
}

/// One step of the agent's own history. The agent's state is a fold of these
/// (see ``AgentState``); each is stored in the event store before the step counts as done.
public enum AgentEvent: Sendable, Equatable, Codable {
    case deploymentStarted(deployment: Int, trigger: DeployTrigger, services: [String], at: Date)
    case serverCreated(deployment: Int, server: ServerInfo)
    case serverHealthy(deployment: Int, id: ServerID, at: Date)
    /// The server's new gate failed: it is destroyed next and the deployment fails.
    case serverFailed(deployment: Int, id: ServerID, reason: String, output: [String], at: Date)
    case serverPublished(id: ServerID, at: Date)
    case serverUnpublished(id: ServerID, reason: String, at: Date)
    case serverDrained(id: ServerID, at: Date)
    case serverDestroyed(id: ServerID, reason: String, at: Date)
    case deploymentCompleted(deployment: Int, at: Date)
    case deploymentFailed(deployment: Int, reason: String, at: Date)
    /// What the deployment rolls out, recorded right after it starts.
    case releaseRecorded(deployment: Int, release: Release)
    /// A gate, watch or rollback decision with its figures.
    case decision(deployment: Int, DeployDecision)
    /// The canaries passed (`pyre deploy --canary-only`); `pyre promote` carries on.
    case deploymentPaused(deployment: Int, at: Date)
    /// The failed deployment is undone by deployment `by`, which restores `restoring`'s release.
    case deploymentRolledBack(deployment: Int, by: Int, restoring: Int, at: Date)

    /// The event type name stored alongside the data (`DeploymentStarted`, …).
    public var typeName: String {
        switch self {
        case .deploymentStarted: "DeploymentStarted"
        case .serverCreated: "ServerCreated"
        case .serverHealthy: "ServerHealthy"
        case .serverFailed: "ServerFailed"
        case .serverPublished: "ServerPublished"
        case .serverUnpublished: "ServerUnpublished"
        case .serverDrained: "ServerDrained"
        case .serverDestroyed: "ServerDestroyed"
        case .deploymentCompleted: "DeploymentCompleted"
        case .deploymentFailed: "DeploymentFailed"
        case .releaseRecorded: "ReleaseRecorded"
        case .decision: "DeployDecision"
        case .deploymentPaused: "DeploymentPaused"
        case .deploymentRolledBack: "DeploymentRolledBack"
        }
    }
}
