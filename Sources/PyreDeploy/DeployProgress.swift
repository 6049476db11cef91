import Foundation
import PyreCore

/// What a running deploy reports to the person watching, step by step.
public enum DeployProgress: Sendable, Equatable {
    case planned(Plan)
    case creating(ServerID)
    /// A provider that creates in batches (and may name servers itself) created this server.
    case created(ServerID)
    case healthy(ServerID, seconds: Double)
    /// A health gate still waiting: probes so far, how many passed in a row, the last failure.
    case gating(ServerID, seconds: Double, probes: Int, passes: Int, lastFailure: String?)
    case published(ServerID)
    case retiring(ServerID)
    case destroyed(ServerID, reason: String)
    /// A new server failed its health gate; `output` holds its last lines.
    case failed(ServerID, reason: String, output: [String])
    /// Published new servers are being watched for `seconds`.
    case watching(service: String, RolloutStateMachine.Watch, servers: [ServerID], seconds: Double)
    /// How a watch ended, with its figures.
    case watched(DeployDecision)
    case completed(deployment: Int, seconds: Double)
    /// The canaries passed and the deploy stopped, as asked; `pyre promote` carries on.
    case paused(deployment: Int)
    case deployFailed(deployment: Int, reason: String)
}
