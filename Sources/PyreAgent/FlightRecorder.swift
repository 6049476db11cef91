import Foundation
import PyreAPI
import PyreCore
import PyreEvents
import PyreLogs

/// `pyre history N`: one deployment's steps, read back from the agent's journal, with the
/// last log lines of every server that failed.
extension Agent {
    public func timeline(of number: Int) async throws -> TimelineReport {
        guard let record = await reconciler.state.deployments.last(where: { $0.number == number }) else {
            throw PyreError(.notFound, "there is no deployment #\(number); `pyre history` lists them")
        }
        let events = try await AgentJournal(store: store).replay()
        var steps: [TimelineReport.Step] = []
        var failed: [ServerID] = []
        var inside = false
        for event in events {
            if case let .deploymentStarted(started, _, _, _) = event { inside = started == number }
            // A rollback is recorded when the deployment that undoes this one starts.
            if case let .deploymentRolledBack(undone, by, restoring, at) = event, undone == number {
                steps.append(.init(at: at, server: nil, step: "rolled back",
                                   detail: "deployment #\(by) deploys the release of #\(restoring) again"))
                continue
            }
            // A decision names its deployment: a crash loop fails a release after it completed.
            let belongs = if case let .decision(deployment, _) = event { deployment == number } else { inside }
            guard belongs, var step = Self.step(of: event) else { continue }
            // A release is recorded with its deployment's start.
            if case .releaseRecorded = event, let start = steps.last?.at { step.at = start }
            steps.append(step)
            switch event {
            case let .serverFailed(_, id, _, _, _): failed.append(id)
            case let .decision(_, decision) where !decision.passed: failed += decision.culprits
            default: break
            }
        }
        var seen: Set<ServerID> = []
        let failedServers = failed.filter { seen.insert($0).inserted }.map { id in
            TimelineReport.FailedServer(server: id.rawValue, lines: lastLines(of: id))
        }
        return TimelineReport(deployment: record, steps: steps, failedServers: failedServers)
    }

    private nonisolated func lastLines(of server: ServerID) -> [String] {
        let records = (try? logs.store.query(LogQuery(server: server.rawValue, limit: 10, order: .newest))) ?? []
        return records.map { "\($0.severity) \($0.message)" }
    }

    private static func step(of event: AgentEvent) -> TimelineReport.Step? {
        switch event {
        case let .deploymentStarted(_, trigger, services, at):
            return .init(at: at, server: nil, step: "started", detail: "\(trigger.rawValue) deploy of "
                + (services.isEmpty ? "nothing" : services.joined(separator: ", ")))
        case let .releaseRecorded(_, release):
            let images = release.images.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.short)" }
            let origin = release.origin.map { " (the release of #\($0))" } ?? ""
            return .init(at: .distantPast, server: nil, step: "release", detail: images.joined(separator: ", ") + origin)
        case let .serverCreated(_, server):
            return .init(at: server.createdAt, server: server.id.rawValue, step: "created",
                         detail: "generation \(server.generation), image \(server.image.short), at \(server.address):\(server.port)")
        case let .serverHealthy(_, id, at):
            return .init(at: at, server: id.rawValue, step: "healthy", detail: "")
        case let .serverFailed(_, id, reason, _, at):
            return .init(at: at, server: id.rawValue, step: "failed its gate", detail: reason)
        case let .decision(_, decision):
            let step = "\(decision.kind.rawValue) \(decision.passed ? "passed" : "failed")"
            let server = decision.servers.count == 1 ? decision.servers[0].rawValue : nil
            let detail = (server == nil ? "\(decision.service): \(decision.servers.map(\.rawValue).joined(separator: ", ")): " : "")
                + decision.detail
            return .init(at: decision.at, server: server, step: step, detail: detail)
        case let .serverPublished(id, at):
            return .init(at: at, server: id.rawValue, step: "published", detail: "")
        case let .serverUnpublished(id, reason, at):
            return .init(at: at, server: id.rawValue, step: "unpublished", detail: reason)
        case let .serverDrained(id, at):
            return .init(at: at, server: id.rawValue, step: "drained", detail: "")
        case let .serverDestroyed(id, reason, at):
            return .init(at: at, server: id.rawValue, step: "destroyed", detail: reason)
        case let .deploymentCompleted(_, at):
            return .init(at: at, server: nil, step: "completed", detail: "")
        case let .deploymentFailed(_, reason, at):
            return .init(at: at, server: nil, step: "failed", detail: reason)
        case let .deploymentPaused(_, at):
            return .init(at: at, server: nil, step: "paused", detail: "the canaries passed; `pyre promote` carries on")
        case let .deploymentRolledBack(undone, _, restoring, at):
            return .init(at: at, server: nil, step: "rolling back", detail: "undoes #\(undone) with the release of #\(restoring)")
        }
    }
}
