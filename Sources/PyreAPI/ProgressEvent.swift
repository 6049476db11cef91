import Foundation

/// A step of a long operation (bake, deploy, verify, destroy) or of the agent's life, as
/// the agent streams it to the CLI (one JSON object per line: `{"creating":{"server":"web-3-8f2c"}}`)
/// and as `pyre up` shows it. The text people read is made on their side, by `ProgressRenderer`.
public enum ProgressEvent: Codable, Sendable, Equatable {
    case bakeStarted(image: String, step: Int, steps: Int, command: String)
    /// A line a bake step printed.
    case bakeOutput(image: String, line: String)
    case bakeFinished(image: String, step: Int, seconds: Double)
    /// An image with the same digest exists already; nothing was run.
    case bakeCached(image: String, digest: String)
    /// A whole-server image's layer (base, user, context) is being made.
    case bakeLayerStarted(image: String, layer: String)
    /// A whole-server image's layer is there: made in `seconds` or found in the cache.
    case bakeLayerDone(image: String, layer: String, seconds: Double, bytes: Int64, cached: Bool)

    /// What the deploy will do, as `pyre plan` prints it.
    case planned(plan: String)
    case creating(server: String)
    case created(server: String)
    case healthy(server: String, seconds: Double)
    /// A health gate still waiting: probes so far, how many passed in a row, the last failure.
    case gating(server: String, seconds: Double, probes: Int, passes: Int, lastFailure: String?)
    case published(server: String)
    case retiring(server: String)
    case destroyed(server: String, reason: String)
    /// A new server failed its health gate and was destroyed; `output` holds its last lines.
    case failed(server: String, reason: String, output: [String])
    /// Published new servers (`what`: canaries, fleet) are watched for `seconds`.
    case watching(service: String, what: String, servers: [String], seconds: Double)
    /// How a watch ended, with the figures it judged by.
    case watched(service: String, what: String, passed: Bool, detail: String)
    case deployCompleted(deployment: Int, seconds: Double)
    /// The canaries passed and the deploy stopped there (`--canary-only`); `pyre promote` carries on.
    case deployPaused(deployment: Int)
    case deployFailed(deployment: Int, reason: String)
    /// The failed deployment is being undone by deploying `restoring`'s release again.
    case rollingBack(deployment: Int, restoring: Int, reason: String)
    /// A failed deploy left new servers next to the complete old fleet; they are being removed.
    case removingFailedServers

    /// `pyre verify`: how a server's view of its image hashes (`files`) against the image as baked.
    case checked(server: String, image: String, files: String, baked: String)

    /// The last line of a deploy: how it ended was already said by its progress.
    case deployResult(deployment: Int, ok: Bool)
    case verifyResult(checked: Int, drifted: Int, replace: Bool, replaced: Bool)
    case destroyResult
    /// The last line of an operation that failed: what went wrong and what to do.
    case operationFailed(message: String)

    /// The agent's own console (`pyre up`): a line such as where a service listens.
    case notice(message: String)
    /// A server the start-up deploy brought up, as `pyre status` lists it.
    case serverReady(StatusReport.Server)
    /// The start-up deploy failed; the agent keeps running.
    case startFailed(message: String)
    case stopping
    case stopped

    enum CodingKeys: String, CodingKey {
        case bakeStarted = "bake_started", bakeOutput = "bake_output", bakeFinished = "bake_finished"
        case bakeCached = "bake_cached", bakeLayerStarted = "bake_layer_started", bakeLayerDone = "bake_layer_done", planned, creating, created, healthy, gating, published, retiring
        case destroyed, failed, deployCompleted = "deploy_completed", deployFailed = "deploy_failed"
        case watching, watched, deployPaused = "deploy_paused", rollingBack = "rolling_back"
        case removingFailedServers = "removing_failed_servers", checked, deployResult = "deploy_result"
        case verifyResult = "verify_result", destroyResult = "destroy_result", operationFailed = "operation_failed"
        case notice, serverReady = "server_ready", startFailed = "start_failed", stopping, stopped
    }

    enum GatingCodingKeys: String, CodingKey {
        case server, seconds, probes, passes, lastFailure = "last_failure"
    }

    enum ServerReadyCodingKeys: String, CodingKey {
        case _0 = "server"
    }

    /// Whether this is the last line of a streamed operation, which says how it ended.
    public var isResult: Bool {
        switch self {
        case .deployResult, .verifyResult, .destroyResult, .operationFailed: true
        default: false
        }
    }

    /// A result's outcome; nil for progress.
    public var ok: Bool? {
        switch self {
        case .deployResult(_, let ok): ok
        case let .verifyResult(_, drifted, _, replaced): drifted == 0 || replaced
        case .destroyResult: true
        case .operationFailed: false
        default: nil
        }
    }
}

/// Where an operation reports its progress: the control API's stream, `pyre up`'s console.
public typealias ProgressSink = @Sendable (ProgressEvent) -> Void
