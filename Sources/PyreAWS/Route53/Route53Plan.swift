/// The batch that turns a zone's record sets into the desired ones, so a publish step is one
/// atomic ChangeResourceRecordSets call: UPSERT what is new or different, DELETE what leaves.
/// SOA and NS belong to Route 53 and are never touched.
public enum Route53Plan {
    public static func changes(current: [Route53RecordSet], desired: [Route53RecordSet]) -> [Route53Change] {
        let managed = current.filter { !["SOA", "NS"].contains($0.type) }
        let existing = Dictionary(managed.map { (key($0), $0) }, uniquingKeysWith: { first, _ in first })
        let wanted = Set(desired.map(key))
        let upserts = desired
            .filter { set in existing[key(set)].map { !same($0, set) } ?? true }
            .map { Route53Change(.upsert, $0) }
        // DELETE must repeat the set exactly as Route 53 holds it, so it comes from `current`.
        let deletes = managed.filter { !wanted.contains(key($0)) }.map { Route53Change(.delete, $0) }
        return upserts + deletes
    }

    /// Names compare without case and with or without the final dot, as in DNS.
    private static func key(_ set: Route53RecordSet) -> String {
        Route53Client.absolute(set.name).lowercased() + " " + set.type
    }

    private static func same(_ a: Route53RecordSet, _ b: Route53RecordSet) -> Bool {
        a.ttl == b.ttl && Set(a.values) == Set(b.values)
    }
}

extension Route53Client {
    /// Makes the zone hold exactly `desired` (besides SOA and NS) with one batch, then waits
    /// until it is INSYNC. `current` is what the zone holds, when the caller knows; otherwise
    /// it is read. Returns the change id, or nil when nothing had to change.
    @discardableResult
    public func publish(zoneID: String, _ desired: [Route53RecordSet], current: [Route53RecordSet]? = nil,
                        comment: String? = nil) async throws -> String? {
        let holding = if let current { current } else { try await listRecordSets(zoneID: zoneID) }
        let changes = Route53Plan.changes(current: holding, desired: desired)
        guard !changes.isEmpty else { return nil }
        let change = try await changeRecordSets(zoneID: zoneID, changes, comment: comment)
        if !change.inSync { try await waitUntilInSync(changeID: change.id) }
        return change.id
    }
}
