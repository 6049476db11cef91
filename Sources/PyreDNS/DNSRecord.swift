/// The data of one resource record, in the text forms a pyre.yml or the agent gives.
public enum DNSRecordData: Sendable, Equatable {
    case a(String)                 // dotted IPv4
    case aaaa(String)              // IPv6 text
    case cname(String)             // absolute name, trailing dot
    case txt([String])
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: String)
    case mx(preference: UInt16, exchange: String)
    case ns(String)
}

public struct DNSRecord: Sendable, Equatable {
    public var name: String        // absolute, e.g. "web.hello.pyre." (any case)
    public var ttl: UInt32
    public var data: DNSRecordData

    public init(name: String, ttl: UInt32, data: DNSRecordData) {
        self.name = name
        self.ttl = ttl
        self.data = data
    }
}

/// RR type codes (RFC 1035, 3596, 2782, 6891, 8482).
public enum DNSType {
    public static let a: UInt16 = 1
    public static let ns: UInt16 = 2
    public static let cname: UInt16 = 5
    public static let soa: UInt16 = 6
    public static let mx: UInt16 = 15
    public static let txt: UInt16 = 16
    public static let aaaa: UInt16 = 28
    public static let srv: UInt16 = 33
    public static let opt: UInt16 = 41
    public static let ixfr: UInt16 = 251
    public static let axfr: UInt16 = 252
    public static let any: UInt16 = 255
}

/// Response codes, including the extended BADVERS (RFC 6891).
public enum DNSResponseCode {
    public static let noError: UInt16 = 0
    public static let formatError: UInt16 = 1
    public static let nameError: UInt16 = 3
    public static let notImplemented: UInt16 = 4
    public static let refused: UInt16 = 5
    public static let badVersion: UInt16 = 16
}

extension DNSRecordData {
    var typeCode: UInt16 {
        switch self {
        case .a: DNSType.a
        case .aaaa: DNSType.aaaa
        case .cname: DNSType.cname
        case .txt: DNSType.txt
        case .srv: DNSType.srv
        case .mx: DNSType.mx
        case .ns: DNSType.ns
        }
    }
}
