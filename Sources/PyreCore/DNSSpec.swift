/// `dns:` in pyre.yml: how the system's authoritative DNS server serves its zone.
public struct DNSSpec: Sendable, Equatable {
    /// `HOST:PORT` where the host reaches the DNS server, in addition to the system's own
    /// address (the bridge in namespace mode); nil for none.
    public var listen: String?
    /// TTL of every generated record, and the SOA minimum (the TTL of negative answers).
    public var ttl: Duration
    /// Records the system declares about names outside itself.
    public var records: [StaticDNSRecord]

    public init(listen: String? = nil, ttl: Duration = .seconds(5), records: [StaticDNSRecord] = []) {
        self.listen = listen
        self.ttl = ttl
        self.records = records
    }
}

/// One record under `dns: records:`.
public struct StaticDNSRecord: Sendable, Equatable {
    /// Absolute owner name, lowercase, inside the zone.
    public var name: String
    /// Nil: the zone's TTL.
    public var ttl: Duration?
    public var value: StaticDNSValue

    public init(name: String, ttl: Duration? = nil, value: StaticDNSValue) {
        self.name = name
        self.ttl = ttl
        self.value = value
    }
}

/// The data of a static record; names in it are absolute (trailing dot).
public enum StaticDNSValue: Sendable, Equatable {
    case a(String)
    case aaaa(String)
    case cname(String)
    case txt([String])
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: String)
    case mx(preference: UInt16, exchange: String)

    public static let typeNames = ["A", "AAAA", "CNAME", "TXT", "SRV", "MX"]
}
