/// One immutable version of the zone: validated records plus the lookup structure the
/// responder reads. Build a new one for every change and hand it to `DNSServer.update`.
public struct DNSZone: Sendable {
    let snapshot: ZoneSnapshot

    /// Validates every name (inside the apex, labels ≤ 63 bytes, names ≤ 255), addresses, CNAME exclusivity; throws a DNSZoneError whose description says which record and what to fix.
    public init(apex: String, serial: UInt32, nameServer: String, hostmaster: String,
                soaTTL: UInt32 = 5, negativeTTL: UInt32 = 5, records: [DNSRecord]) throws {
        let apexName = try zoneName(apex, role: "apex")
        let soa = SOAFields(
            nameServer: try zoneName(nameServer, role: "name server"),
            hostmaster: try zoneName(mailboxAsName(hostmaster), role: "hostmaster"),
            serial: serial, minimum: negativeTTL)
        var zoneRecords = [
            ZoneRecord(name: apexName, ttl: soaTTL, data: .soa(soa)),
            ZoneRecord(name: apexName, ttl: soaTTL, data: .ns(soa.nameServer)),
        ]
        for record in records {
            zoneRecords.append(try validated(record, apex: apexName))
        }
        try checkCNAMEExclusivity(zoneRecords, original: records)
        snapshot = ZoneSnapshot(apex: apexName, soa: soa, soaTTL: soaTTL, records: zoneRecords)
    }

    public var apex: String { snapshot.apex.description }
    public var serial: UInt32 { snapshot.soa.serial }
    /// The owner name of every record, in zone order.
    public var ownerNames: [String] { snapshot.records.map(\.name.description) }
}

private func zoneName(_ text: String, role: String) throws(DNSZoneError) -> DNSName {
    do {
        return try DNSName(parsing: text)
    } catch {
        throw DNSZoneError("the \(role) \"\(text)\" is not a valid name: \(error)")
    }
}

/// "hostmaster@example.com" becomes "hostmaster.example.com." (RFC 1035 §8).
private func mailboxAsName(_ text: String) -> String {
    String(text.map { $0 == "@" ? "." : $0 })
}

private func validated(_ record: DNSRecord, apex: DNSName) throws(DNSZoneError) -> ZoneRecord {
    let name: DNSName
    do {
        name = try DNSName(parsing: record.name)
    } catch {
        throw DNSZoneError("the name is not valid: \(error)", record: record)
    }
    guard name.isInside(apex) else {
        throw DNSZoneError("the name is outside the zone \(apex); use a name ending in .\(apex)", record: record)
    }
    let data: ZoneRecordData
    do {
        data = try ZoneRecordData(record.data)
    } catch {
        throw DNSZoneError(error.problem, record: record)
    }
    if case .ns = data, name != apex {
        throw DNSZoneError("delegations are not supported; NS records may only be at the apex \(apex)", record: record)
    }
    return ZoneRecord(name: name, ttl: record.ttl, data: data)
}

/// A name with a CNAME has no other data (RFC 1034 §3.6.2); the apex always has SOA and NS.
private func checkCNAMEExclusivity(_ records: [ZoneRecord], original: [DNSRecord]) throws(DNSZoneError) {
    var dataByName: [DNSName: Set<ZoneRecordData>] = [:]
    for record in records { dataByName[record.name, default: []].insert(record.data) }
    for (index, record) in records.enumerated() {
        guard case .cname = record.data, let data = dataByName[record.name], data.count > 1 else { continue }
        let source = original[index - 2]
        throw DNSZoneError(
            "\(record.name) has a CNAME and other records; a name with a CNAME may have nothing else: "
                + "remove the other records or the CNAME", record: source)
    }
}
