import Foundation
import PyreCore

extension Reconciler {
    /// Brings the provider in line with the replayed state when the agent starts: servers the
    /// state does not know as live, and live servers that are not published (an interrupted
    /// deployment's new servers, healthy or not, and retired ones not yet destroyed), are
    /// destroyed; servers the provider lost are recorded destroyed ("vanished"); live published
    /// servers are published again. The caller then deploys with `.recovery`.
    public func recover() async throws {
        let servers = try await listServers()
        _ = try await forgetVanished(servers)

        var reasons: [ServerID: String] = [:]
        for info in servers {
            if let record = state.servers[info.id], !record.destroyed {
                // A rollout holds healthy new servers unpublished until its swap: kept, they
                // would count as serving while no name leads to them.
                if !record.healthy {
                    reasons[info.id] = "never became healthy (deploy #\(record.deployment) was interrupted)"
                } else if !record.published {
                    reasons[info.id] = "healthy but not published (a rollout stopped before publishing it, or retired it)"
                }
            } else {
                reasons[info.id] = "orphan: not a live server of this agent"
            }
        }
        let failures = try await destroyAtOnce(reasons)

        await publisher.update(publishing: state.liveServers.filter(\.published).map(\.info), unpublishing: [])
        if !failures.isEmpty {
            throw PyreError(.provider, "could not destroy " + failures.map { "\($0.key): \($0.value)" }
                .sorted().joined(separator: "; ") + "; check the provider, then restart the agent")
        }
    }

    /// Unpublishes (when published) and destroys the servers without draining, recording each
    /// step; returns the servers that could not be destroyed.
    private func destroyAtOnce(_ reasons: [ServerID: String]) async throws -> [ServerID: String] {
        guard !reasons.isEmpty else { return [:] }
        let published = reasons.keys.filter { state.servers[$0]?.published == true }.sorted()
        await publisher.unpublish(published)
        try await record(published.map { .serverUnpublished(id: $0, reason: reasons[$0]!, at: Date()) })

        let failures = await worker.destroy(reasons.keys.sorted())
        let now = Date()
        let destroyed = reasons.keys.filter { failures[$0] == nil }.sorted()
        for id in destroyed { healthTracks[id] = nil }
        logger.info("recovery destroyed servers", metadata: ["servers": "\(destroyed)"])
        try await record(destroyed.map { .serverDestroyed(id: $0, reason: reasons[$0]!, at: now) })
        return failures
    }
}
