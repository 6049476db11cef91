import Foundation
import PyreDeploy
import PyreImages

extension ProgressLine {
    /// A line for a bake event; nil for events people need not see.
    public init?(_ event: BakeProgress) {
        switch event {
        case let .started(image, step, total, command):
            self.init(.bake, "bake \(image): step \(step)/\(total): \(command)")
        case let .output(_, line):
            self.init(.output, line)
        case let .finished(image, step, seconds):
            self.init(.bake, String(format: "bake \(image): step \(step) done in %.1fs", seconds))
        case let .cached(image, digest):
            self.init(.bake, "bake \(image): cached \(digest.short)")
        }
    }
}

extension ProgressLine {
    /// A line for a step of a rollout.
    public init(_ event: DeployProgress) {
        switch event {
        case .planned(let plan):
            self.init(.plan, plan.render())
        case .creating(let id):
            self.init(.server, "\(id)  creating")
        case .created(let id):
            self.init(.server, "\(id)  created")
        case let .healthy(id, seconds):
            self.init(.server, String(format: "\(id)  healthy after %.1fs", seconds))
        case let .gating(id, seconds, probes, passes, lastFailure):
            var text = String(format: "\(id)  not healthy yet after %.0fs: \(probes) probe\(probes == 1 ? "" : "s")", seconds)
            if passes > 0 { text += ", the last \(passes) passed" }
            if let lastFailure { text += ", last failure: \(lastFailure)" }
            self.init(.server, text)
        case .published(let id):
            self.init(.server, "\(id)  published")
        case .retiring(let id):
            self.init(.server, "\(id)  unpublished, draining")
        case let .destroyed(id, reason):
            self.init(.server, "\(id)  destroyed (\(reason))")
        case let .failed(id, reason, output):
            let tail = output.isEmpty ? "" : "\n  last output of \(id):\n" + output.map { "  │ " + $0 }.joined(separator: "\n")
            self.init(.error, "\(id)  failed its health gate: \(reason); destroyed\(tail)")
        case let .completed(deployment, seconds):
            self.init(.deploy, String(format: "deploy #\(deployment) completed in %.1fs", seconds))
        case let .deployFailed(deployment, reason):
            self.init(.error, "deploy #\(deployment) failed: \(reason); the servers that were serving keep serving")
        }
    }
}
