import PyreCore
import PyreDNS

/// The records of a system's zone, built from what runs: a pure function of its inputs, so
/// every change yields a complete new snapshot.
struct SystemZone {
    var zone: String
    var ttl: UInt32
    /// Where the agent serves DNS, the event store and the log sink.
    var systemAddress: String
    /// Every live server, published or not.
    var servers: [ServerInfo]
    /// The servers that receive traffic.
    var published: Set<ServerID>
    var deployment: Int
    var staticRecords: [StaticDNSRecord]

    var nameServer: String { "dns.\(zone)" }

    func records() -> [DNSRecord] {
        var records = ["dns", "events", "logs"].map { record("\($0).\(zone)", .a(systemAddress)) }
        records.append(record("_deploy.\(zone)", .txt(["deployment=\(deployment)"])))
        for server in servers.sorted(by: { $0.id < $1.id }) {
            let serverName = "\(server.id.rawValue).\(zone)"
            records.append(record(serverName, address(server.address)))
            guard published.contains(server.id) else { continue }
            records.append(record("\(server.service).\(zone)", address(server.address)))
            records.append(record("_\(server.service)._tcp.\(zone)",
                                  .srv(priority: 0, weight: 1, port: UInt16(clamping: server.port), target: serverName)))
        }
        for declared in staticRecords {
            let ttl = declared.ttl.map { UInt32(clamping: $0.components.seconds) } ?? ttl
            records.append(DNSRecord(name: declared.name, ttl: ttl, data: Self.data(declared.value)))
        }
        return records
    }

    func snapshot(serial: UInt32) throws -> DNSZone {
        try DNSZone(apex: zone, serial: serial, nameServer: nameServer, hostmaster: "hostmaster.\(zone)",
                    soaTTL: ttl, negativeTTL: ttl, records: records())
    }

    private func record(_ name: String, _ data: DNSRecordData) -> DNSRecord {
        DNSRecord(name: name, ttl: ttl, data: data)
    }

    private func address(_ text: String) -> DNSRecordData {
        text.contains(":") ? .aaaa(text) : .a(text)
    }

    private static func data(_ value: StaticDNSValue) -> DNSRecordData {
        switch value {
        case let .a(address): .a(address)
        case let .aaaa(address): .aaaa(address)
        case let .cname(target): .cname(target)
        case let .txt(strings): .txt(strings)
        case let .srv(priority, weight, port, target): .srv(priority: priority, weight: weight, port: port, target: target)
        case let .mx(preference, exchange): .mx(preference: preference, exchange: exchange)
        }
    }
}
