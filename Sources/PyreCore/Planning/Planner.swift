import Foundation

/// Compares what should run with what runs. Pure: no I/O, no clock besides `now`.
public enum Planner {
    /// The plan that brings `observed` to `desired`. Servers of services not in `desired` are
    /// destroyed; every declared service ends with exactly `count` up-to-date servers.
    /// Servers in `replacing` (drifted ones) are replaced even when otherwise up to date.
    public static func plan(desired: [DesiredService], observed: [ObservedServer], now: Date,
                            replacing: Set<ServerID> = []) -> Plan {
        var byService: [String: [ObservedServer]] = [:]
        for server in observed { byService[server.info.service, default: []].append(server) }

        var plans = desired.map { service in
            plan(service, observed: byService.removeValue(forKey: service.spec.name) ?? [], now: now,
                 replacing: replacing)
        }
        for name in byService.keys.sorted() {
            let servers = byService[name]!.sorted { $0.info.id < $1.info.id }
            plans.append(ServicePlan(service: name, count: 0, destroyExtra: servers.map(\.info.id),
                                     oldImage: mostCommonImage(servers), newImage: nil))
        }
        return Plan(services: plans)
    }

    static func plan(_ desired: DesiredService, observed: [ObservedServer], now: Date,
                     replacing: Set<ServerID>) -> ServicePlan {
        var upToDate: [ObservedServer] = []
        var replace: [ServicePlan.Replacement] = []
        for server in observed {
            if let reason = replaceReason(server, desired: desired, now: now)
                ?? (replacing.contains(server.info.id) ? .drifted : nil) {
                replace.append(.init(id: server.info.id, reason: reason))
            } else {
                upToDate.append(server)
            }
        }
        // Keep the servers known healthy first, then the newest: scaling down sheds the oldest.
        upToDate.sort { lhs, rhs in
            let (left, right) = (healthRank(lhs.healthy), healthRank(rhs.healthy))
            if left != right { return left < right }
            if lhs.info.createdAt != rhs.info.createdAt { return lhs.info.createdAt > rhs.info.createdAt }
            return lhs.info.id < rhs.info.id
        }
        let count = desired.spec.count
        let kept = upToDate.prefix(count)
        var plan = ServicePlan(
            service: desired.spec.name, count: count,
            keep: kept.map(\.info.id).sorted(),
            replace: replace.sorted { $0.id < $1.id },
            create: count - kept.count,
            destroyExtra: upToDate.dropFirst(count).map(\.info.id).sorted(),
            oldImage: mostCommonImage(observed), newImage: desired.image)
        plan.onHostOS = desired.imageLocation.isHostOS
        return plan
    }

    /// The first reason that applies, most urgent first.
    static func replaceReason(_ server: ObservedServer, desired: DesiredService, now: Date) -> ReplaceReason? {
        let info = server.info
        if case let .exited(status) = info.state { return .exited(status: status) }
        if server.failing { return .failingHealth }
        if info.image != desired.image { return .imageChanged(from: info.image, to: desired.image) }
        if info.configHash != desired.configHash {
            return .configChanged(ConfigChange.between(info.config, desired.configParts))
        }
        if let maxAge = desired.spec.maxAge, now.timeIntervalSince(info.createdAt) > maxAge.timeInterval {
            return .tooOld(maxAge: maxAge)
        }
        return nil
    }

    private static func healthRank(_ healthy: Bool?) -> Int {
        switch healthy {
        case true: 0
        case nil: 1
        case false: 2
        }
    }

    private static func mostCommonImage(_ servers: [ObservedServer]) -> ImageDigest? {
        var counts: [ImageDigest: Int] = [:]
        for server in servers { counts[server.info.image, default: 0] += 1 }
        return counts.max { $0.value != $1.value ? $0.value < $1.value : $0.key.rawValue > $1.key.rawValue }?.key
    }
}

