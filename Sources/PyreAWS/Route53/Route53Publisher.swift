import Foundation
import Logging
import PyreCore

/// The identity layer on Route 53: the system's hosted zone (private to the servers' VPC, so
/// only they resolve it) holds, for every published
/// server, `SERVICE.ZONE` A (all of a service's servers), `SERVER-ID.ZONE` A and
/// `_SERVICE._tcp.ZONE` SRV, and the static records of pyre.yml. Each ``update(publishing:unpublishing:)`` is one
/// ChangeResourceRecordSets batch (updates that arrive while one is in flight share the
/// next), and returns once Route 53 reports it INSYNC.
public actor Route53Publisher: ServerPublisher {
    let route53: Route53Client
    /// Absolute, with the final dot.
    let zone: String
    let ttl: Int
    let logger: Logger
    /// The VPC the zone is private to, found at first use; nil for a public zone.
    let vpc: (@Sendable () async throws -> Route53Client.VPC)?
    private var zoneID: String?
    private var published: [ServerID: ServerInfo] = [:]
    /// `dns: records:` of pyre.yml, names outside the system.
    private var staticRecords: [Route53RecordSet] = []
    /// The zone's record sets as last read or written; nil when they must be read again.
    private var holding: [Route53RecordSet]?
    /// Zone changes, one at a time; updates that arrive during one share the next.
    private var syncs: Coalescer<Void, Void>?
    /// The last change failed: ``resync()`` tries again.
    public private(set) var outOfSync = false

    public init(route53: Route53Client, zone: String, ttl: Int, logger: Logger,
                privateTo vpc: (@Sendable () async throws -> Route53Client.VPC)? = nil) {
        self.route53 = route53
        self.zone = Route53Client.absolute(zone).lowercased()
        self.ttl = ttl
        self.logger = logger
        self.vpc = vpc
    }

    /// The hosted zone's id, found or created (the caller reference makes creating safe to retry).
    public func hostedZone() async throws -> String {
        if let zoneID { return zoneID }
        let id = try await route53.ensureHostedZone(zone, callerReference: "pyre-\(zone)-\(UUID().uuidString)",
                                                    privateTo: try await vpc?())
        zoneID = id
        return id
    }

    public func update(publishing servers: [ServerInfo], unpublishing leaving: [ServerID]) async {
        for server in servers { published[server.id] = server }
        for id in leaving { published[id] = nil }
        do {
            try await syncCalls().submit(())
        } catch {
            // Cancelled before its change started: the next tick's resync carries it.
            outOfSync = true
        }
    }

    private func syncCalls() -> Coalescer<Void, Void> {
        if let syncs { return syncs }
        let created = Coalescer<Void, Void> { [weak self] requests in
            await self?.sync()
            return requests.map { .success(()) }
        }
        syncs = created
        return created
    }

    /// Takes up `dns: records:` from pyre.yml; a change of them is one change of the zone.
    public func setStaticRecords(_ records: [StaticDNSRecord], defaultTTL: Duration) async {
        let sets = Self.recordSets(records, defaultTTL: defaultTTL)
        guard sets != staticRecords else { return }
        staticRecords = sets
        await update(publishing: [], unpublishing: [])
    }

    /// Static records grouped into Route 53's record sets (one per name and type).
    static func recordSets(_ records: [StaticDNSRecord], defaultTTL: Duration) -> [Route53RecordSet] {
        var sets: [String: Route53RecordSet] = [:]
        for record in records {
            let (type, value): (String, String) = switch record.value {
            case .a(let address): ("A", address)
            case .aaaa(let address): ("AAAA", address)
            case .cname(let target): ("CNAME", target)
            case .txt(let strings): ("TXT", Route53RecordSet.txtValue(strings))
            case let .srv(priority, weight, port, target): ("SRV", "\(priority) \(weight) \(port) \(target)")
            case let .mx(preference, exchange): ("MX", "\(preference) \(exchange)")
            }
            let ttl = Int((record.ttl ?? defaultTTL).components.seconds)
            sets["\(record.name) \(type)", default: Route53RecordSet(name: record.name, type: type, ttl: ttl, values: [])]
                .values.append(value)
        }
        return sets.keys.sorted().map { sets[$0]! }
    }

    /// Makes the zone match the published servers again after a change failed (the agent's
    /// periodic tick calls it).
    public func resync() async {
        guard outOfSync else { return }
        try? await syncCalls().submit(())
    }

    /// The record sets the published servers call for.
    public func desiredRecordSets() -> [Route53RecordSet] {
        var sets = staticRecords
        let byService = Dictionary(grouping: published.values.filter { !$0.address.isEmpty }, by: \.service)
        for (service, servers) in byService.sorted(by: { $0.key < $1.key }) {
            let sorted = servers.sorted { $0.id < $1.id }
            sets.append(Route53RecordSet(name: "\(service).\(zone)", type: "A", ttl: ttl, values: sorted.map(\.address)))
            sets.append(Route53RecordSet(name: "_\(service)._tcp.\(zone)", type: "SRV", ttl: ttl,
                                         values: sorted.map { "0 0 \($0.port) \($0.id.rawValue.lowercased()).\(zone)" }))
            for server in sorted {
                sets.append(Route53RecordSet(name: "\(server.id.rawValue.lowercased()).\(zone)", type: "A", ttl: ttl,
                                             values: [server.address]))
            }
        }
        return sets
    }

    /// One change towards the desired sets. A failed change may have failed because the
    /// zone is not what was last seen (another writer, a lost answer): read it and try once more.
    private func sync() async {
        let desired = desiredRecordSets()
        for attempt in 1...2 {
            do {
                let id = try await hostedZone()
                let current = if let holding { holding } else { try await route53.listRecordSets(zoneID: id) }
                try await route53.publish(zoneID: id, desired, current: current, comment: "pyre")
                holding = current.filter { ["SOA", "NS"].contains($0.type) } + desired
                outOfSync = false
                return
            } catch {
                holding = nil
                if attempt == 2 {
                    outOfSync = true
                    logger.error("Route 53 zone \(zone) not updated; the agent retries on its next tick: \(error)")
                }
            }
        }
    }
}
