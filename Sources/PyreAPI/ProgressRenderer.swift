import Foundation
import PyreCore

/// The text people read for progress, the same in `pyre up`'s console and in the CLI's
/// deploy, verify, destroy and bake: one line (or a few) per event, coloured when asked.
public struct ProgressRenderer: Sendable {
    /// ANSI colours (a terminal without NO_COLOR).
    public var colour: Bool

    public init(colour: Bool) { self.colour = colour }

    /// What to print for `event`; nil when there is nothing to say (a deploy's result line).
    public func render(_ event: ProgressEvent) -> String? {
        let (text, style) = Self.text(of: event)
        guard !text.isEmpty else { return nil }
        return switch style {
        case .plain: text
        case .server: "  " + text
        case .output: paint("  │ " + text, 2)
        case .error: paint(text, 31)
        case .result(let ok): paint(text, ok ? 32 : 31)
        }
    }

    /// `text` in the ANSI colour `code` when colouring.
    public func paint(_ text: String, _ code: Int) -> String {
        colour ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    private enum Style {
        case plain, server, output, error
        case result(ok: Bool)
    }

    private static func text(of event: ProgressEvent) -> (String, Style) {
        switch event {
        case let .bakeStarted(image, step, steps, command):
            ("bake \(image): step \(step)/\(steps): \(command)", .plain)
        case .bakeOutput(_, let line):
            (line, .output)
        case let .bakeFinished(image, step, seconds):
            (String(format: "bake \(image): step \(step) done in %.1fs", seconds), .plain)
        case let .bakeCached(image, digest):
            ("bake \(image): cached \(ImageDigest(digest).short)", .plain)
        case let .bakeLayerStarted(image, layer):
            ("bake \(image): \(layer)…", .plain)
        case let .bakeLayerDone(image, layer, seconds, bytes, cached):
            (cached ? "bake \(image): \(layer): cached (\(Self.megabytes(bytes)))"
                    : String(format: "bake \(image): \(layer): done in %.1fs", seconds) + (bytes > 0 ? " (\(Self.megabytes(bytes)))" : ""),
             .plain)
        case .planned(let plan):
            (plan, .plain)
        case .creating(let id):
            ("\(id)  creating", .server)
        case .created(let id):
            ("\(id)  created", .server)
        case let .healthy(id, seconds):
            (String(format: "\(id)  healthy after %.1fs", seconds), .server)
        case let .gating(id, seconds, probes, passes, lastFailure):
            (gating(id, seconds: seconds, probes: probes, passes: passes, lastFailure: lastFailure), .server)
        case .published(let id):
            ("\(id)  published", .server)
        case .retiring(let id):
            ("\(id)  unpublished, draining", .server)
        case let .destroyed(id, reason):
            ("\(id)  destroyed (\(reason))", .server)
        case let .failed(id, reason, output):
            ("\(id)  failed its health gate: \(reason); destroyed" + outputTail(of: id, output), .error)
        case let .watching(service, what, servers, seconds):
            ("watching the \(what) of \(service) (\(servers.joined(separator: ", "))) for " + String(format: "%.0fs", seconds),
             .plain)
        case let .watched(service, what, passed, detail):
            ("\(service): the \(what) \(passed ? "passed" : "failed") the watch: \(detail)", passed ? .plain : .error)
        case let .deployPaused(deployment):
            ("deploy #\(deployment) paused: the canaries passed; `pyre promote` carries on, `pyre rollback` takes them away",
             .plain)
        case let .rollingBack(deployment, restoring, reason):
            ("rolling deploy #\(deployment) back to the release of #\(restoring): \(reason)", .error)
        case let .deployCompleted(deployment, seconds):
            (String(format: "deploy #\(deployment) completed in %.1fs", seconds), .plain)
        case let .deployFailed(deployment, reason):
            ("deploy #\(deployment) failed: \(reason); the servers that were serving keep serving", .error)
        case .removingFailedServers:
            ("removing the failed deploy's servers; the old fleet keeps serving", .plain)
        case let .checked(id, image, files, baked):
            (checked(id, image: image, files: files, baked: baked), .plain)
        case .deployResult(_, let ok):
            ("", .result(ok: ok))
        case let .verifyResult(checked, drifted, replace, replaced):
            (verified(checked: checked, drifted: drifted, replace: replace, replaced: replaced), .result(ok: event.ok == true))
        case .destroyResult:
            ("all servers destroyed; persistent data kept", .result(ok: true))
        case .operationFailed(let message):
            (message, .result(ok: false))
        case .notice(let message):
            (message, .plain)
        case .serverReady(let server):
            (serverLine(server), .server)
        case .startFailed(let message):
            ("\(message)\nfix it and run `pyre deploy`; the agent keeps running", .error)
        case .stopping:
            ("stopping: destroying servers, keeping persistent data", .plain)
        case .stopped:
            ("stopped", .plain)
        }
    }

    private static func gating(_ id: String, seconds: Double, probes: Int, passes: Int, lastFailure: String?) -> String {
        var text = String(format: "\(id)  not healthy yet after %.0fs: \(probes) probe\(probes == 1 ? "" : "s")", seconds)
        if passes > 0 { text += ", the last \(passes) passed" }
        if let lastFailure { text += ", last failure: \(lastFailure)" }
        return text
    }

    private static func outputTail(of id: String, _ output: [String]) -> String {
        output.isEmpty ? "" : "\n  last output of \(id):\n" + output.map { "  │ " + $0 }.joined(separator: "\n")
    }

    /// `files` is the digest of the server's view; `image` the digest `status` shows (of the
    /// image's inputs), labelled so the two are never taken for each other.
    private static func megabytes(_ bytes: Int64) -> String {
        String(format: "%.1f MB", Double(bytes) / 1_000_000)
    }

    private static func checked(_ id: String, image: String, files: String, baked: String) -> String {
        let short = { ImageDigest($0).short }
        return files == baked
            ? "\(id): ok (image \(short(image)): files hash to \(short(files)), as baked)"
            : "\(id): drifted (image \(short(image)): files hash to \(short(files)), baked as \(short(baked)))"
    }

    private static func verified(checked: Int, drifted: Int, replace: Bool, replaced: Bool) -> String {
        var message = "\(checked) servers checked, \(drifted) drifted"
        if replace && drifted > 0 { message += replaced ? ", replaced" : ", NOT replaced" }
        return message
    }
}

/// One aligned line per server, as `pyre up` and `pyre status` print it.
public func serverLine(_ server: StatusReport.Server) -> String {
    let id = server.id.padding(toLength: max(18, server.id.count), withPad: " ", startingAt: 0)
    let address = "\(server.address):\(server.port)".padding(toLength: 22, withPad: " ", startingAt: 0)
    let health = server.health.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
    let image = ImageDigest(server.image).short
    return "\(id) gen \(server.generation)  \(address) \(health) \(image)"
}
