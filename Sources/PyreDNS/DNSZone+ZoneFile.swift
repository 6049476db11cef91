#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension DNSZone {
    /// RFC 1035 master-file text (SOA first), loadable by NSD: `pyre dns` prints it.
    public func zoneFileText() -> String {
        var lines = ["$ORIGIN \(snapshot.apex)"]
        for record in snapshot.records {
            lines.append("\(record.name)\t\(record.ttl)\tIN\t\(typeMnemonic(record.type))\t\(dataText(record.data))")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}

private func typeMnemonic(_ type: UInt16) -> String {
    switch type {
    case DNSType.a: "A"
    case DNSType.aaaa: "AAAA"
    case DNSType.cname: "CNAME"
    case DNSType.ns: "NS"
    case DNSType.txt: "TXT"
    case DNSType.srv: "SRV"
    case DNSType.mx: "MX"
    case DNSType.soa: "SOA"
    default: "TYPE\(type)"
    }
}

private func dataText(_ data: ZoneRecordData) -> String {
    switch data {
    case .a(let bytes): addressText(bytes, family: AF_INET)
    case .aaaa(let bytes): addressText(bytes, family: AF_INET6)
    case .cname(let target), .ns(let target): target.description
    case .txt(let strings): strings.map(quotedCharacterString).joined(separator: " ")
    case .srv(let priority, let weight, let port, let target): "\(priority) \(weight) \(port) \(target)"
    case .mx(let preference, let exchange): "\(preference) \(exchange)"
    case .soa(let soa):
        "\(soa.nameServer) \(soa.hostmaster) \(soa.serial) \(soa.refresh) \(soa.retry) \(soa.expire) \(soa.minimum)"
    }
}

/// A <character-string> in quotes, with '"' and '\' escaped and other bytes as \DDD.
func quotedCharacterString(_ bytes: [UInt8]) -> String {
    var text = "\""
    for byte in bytes {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): text += "\\" + String(UnicodeScalar(byte))
        case 0x20...0x7E: text.unicodeScalars.append(UnicodeScalar(byte))
        default:
            let digits = String(byte)
            text += "\\" + String(repeating: "0", count: 3 - digits.count) + digits
        }
    }
    return text + "\""
}
