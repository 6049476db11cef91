/// Why a zone could not be built: which record (if any) and what to fix.
public struct DNSZoneError: Error, CustomStringConvertible, Sendable, Equatable {
    public let record: DNSRecord?
    public let problem: String

    init(_ problem: String, record: DNSRecord? = nil) {
        self.record = record
        self.problem = problem
    }

    public var description: String {
        guard let record else { return "DNS zone: \(problem)" }
        return "DNS record \(record.name) \(record.data.typeName): \(problem)"
    }
}

extension DNSRecordData {
    var typeName: String {
        switch self {
        case .a: "A"
        case .aaaa: "AAAA"
        case .cname: "CNAME"
        case .txt: "TXT"
        case .srv: "SRV"
        case .mx: "MX"
        case .ns: "NS"
        }
    }
}
