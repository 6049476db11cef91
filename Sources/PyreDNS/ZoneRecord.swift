#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A record validated and converted to wire-ready values.
struct ZoneRecord: Hashable, Sendable {
    var name: DNSName
    var ttl: UInt32
    var data: ZoneRecordData

    var type: UInt16 { data.type }
}

enum ZoneRecordData: Hashable, Sendable {
    case a([UInt8])
    case aaaa([UInt8])
    case cname(DNSName)
    case ns(DNSName)
    case txt([[UInt8]])
    case srv(priority: UInt16, weight: UInt16, port: UInt16, target: DNSName)
    case mx(preference: UInt16, exchange: DNSName)
    case soa(SOAFields)

    var type: UInt16 {
        switch self {
        case .a: DNSType.a
        case .aaaa: DNSType.aaaa
        case .cname: DNSType.cname
        case .ns: DNSType.ns
        case .txt: DNSType.txt
        case .srv: DNSType.srv
        case .mx: DNSType.mx
        case .soa: DNSType.soa
        }
    }
}

struct SOAFields: Hashable, Sendable {
    var nameServer: DNSName
    var hostmaster: DNSName
    var serial: UInt32
    var refresh: UInt32 = 3600
    var retry: UInt32 = 600
    var expire: UInt32 = 86400
    var minimum: UInt32
}

extension ZoneRecordData {
    /// Converts and validates the caller's text form; `problem` says what to fix.
    init(_ data: DNSRecordData) throws(DNSZoneError) {
        switch data {
        case .a(let text):
            guard let bytes = parseAddress(text, family: AF_INET, length: 4) else {
                throw DNSZoneError("\"\(text)\" is not an IPv4 address; write four numbers 0-255 such as 10.0.0.1")
            }
            self = .a(bytes)
        case .aaaa(let text):
            guard let bytes = parseAddress(text, family: AF_INET6, length: 16) else {
                throw DNSZoneError("\"\(text)\" is not an IPv6 address; write it like fd00::1")
            }
            self = .aaaa(bytes)
        case .cname(let target): self = .cname(try recordName(target, role: "target"))
        case .ns(let host): self = .ns(try recordName(host, role: "name server"))
        case .txt(let strings):
            guard !strings.isEmpty else { throw DNSZoneError("a TXT record needs at least one string") }
            let bytes = strings.map { Array($0.utf8) }
            if let long = bytes.first(where: { $0.count > 255 }) {
                throw DNSZoneError("a TXT string is \(long.count) bytes; split it into strings of at most 255 bytes")
            }
            self = .txt(bytes)
        case .srv(let priority, let weight, let port, let target):
            self = .srv(priority: priority, weight: weight, port: port, target: try recordName(target, role: "target"))
        case .mx(let preference, let exchange):
            self = .mx(preference: preference, exchange: try recordName(exchange, role: "exchange"))
        }
    }
}

private func recordName(_ text: String, role: String) throws(DNSZoneError) -> DNSName {
    do {
        return try DNSName(parsing: text)
    } catch {
        throw DNSZoneError("the \(role) is not a valid name: \(error)")
    }
}

private func parseAddress(_ text: String, family: Int32, length: Int) -> [UInt8]? {
    var bytes = [UInt8](repeating: 0, count: 16)
    let parsed = bytes.withUnsafeMutableBytes { inet_pton(family, text, $0.baseAddress) }
    return parsed == 1 ? Array(bytes.prefix(length)) : nil
}

/// Text of an address for a zone file.
func addressText(_ bytes: [UInt8], family: Int32) -> String {
    var text = [CChar](repeating: 0, count: 64)
    _ = bytes.withUnsafeBytes { inet_ntop(family, $0.baseAddress, &text, 64) }
    return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
