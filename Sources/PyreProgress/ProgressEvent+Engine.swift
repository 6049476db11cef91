import Foundation
import PyreAPI
import PyreDeploy
import PyreImages

// The engine's progress as the API's events: PyreAPI knows nothing of the engine, and both
// the agent and `pyre bake` (which bakes without an agent) report it.

extension ProgressEvent {
    /// The event for a step of a bake.
    public init(_ event: BakeProgress) {
        switch event {
        case let .started(image, step, total, command):
            self = .bakeStarted(image: image, step: step, steps: total, command: command)
        case let .output(image, line):
            self = .bakeOutput(image: image, line: line)
        case let .finished(image, step, seconds):
            self = .bakeFinished(image: image, step: step, seconds: seconds)
        case let .cached(image, digest):
            self = .bakeCached(image: image, digest: digest.rawValue)
        case let .layerStarted(image, layer):
            self = .bakeLayerStarted(image: image, layer: layer)
        case let .layerDone(image, layer, seconds, bytes, cached):
            self = .bakeLayerDone(image: image, layer: layer, seconds: seconds, bytes: bytes, cached: cached)
        }
    }

    /// The event for a step of a rollout.
    public init(_ event: DeployProgress) {
        switch event {
        case .planned(let plan): self = .planned(plan: plan.render())
        case .creating(let id): self = .creating(server: id.rawValue)
        case .created(let id): self = .created(server: id.rawValue)
        case let .healthy(id, seconds): self = .healthy(server: id.rawValue, seconds: seconds)
        case let .gating(id, seconds, probes, passes, lastFailure):
            self = .gating(server: id.rawValue, seconds: seconds, probes: probes, passes: passes, lastFailure: lastFailure)
        case .published(let id): self = .published(server: id.rawValue)
        case .retiring(let id): self = .retiring(server: id.rawValue)
        case let .destroyed(id, reason): self = .destroyed(server: id.rawValue, reason: reason)
        case let .failed(id, reason, output): self = .failed(server: id.rawValue, reason: reason, output: output)
        case let .watching(service, kind, servers, seconds):
            self = .watching(service: service, what: kind.rawValue, servers: servers.map(\.rawValue), seconds: seconds)
        case let .watched(decision):
            self = .watched(service: decision.service, what: decision.kind == .canaryWatch ? "canaries" : "fleet",
                            passed: decision.passed, detail: decision.detail)
        case let .completed(deployment, seconds): self = .deployCompleted(deployment: deployment, seconds: seconds)
        case let .paused(deployment): self = .deployPaused(deployment: deployment)
        case let .deployFailed(deployment, reason): self = .deployFailed(deployment: deployment, reason: reason)
        }
    }
}
