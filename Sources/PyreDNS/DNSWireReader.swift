#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Bounds-checked reads from a message, with name decompression that cannot loop:
/// every pointer must point strictly before the label it replaces.
struct DNSWireReader {
    private let bytes: [UInt8]
    private(set) var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func readUInt8() throws(DNSDecodingError) -> UInt8 {
        guard position < bytes.count else { throw .truncated }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func readUInt16() throws(DNSDecodingError) -> UInt16 {
        UInt16(try readUInt8()) << 8 | UInt16(try readUInt8())
    }

    mutating func readUInt32() throws(DNSDecodingError) -> UInt32 {
        UInt32(try readUInt16()) << 16 | UInt32(try readUInt16())
    }

    mutating func readBytes(_ count: Int) throws(DNSDecodingError) -> [UInt8] {
        guard count <= bytes.count - position else { throw .truncated }
        defer { position += count }
        return Array(bytes[position..<position + count])
    }

    /// Reads a possibly compressed name; returns its presentation text.
    mutating func readName() throws(DNSDecodingError) -> String {
        var labels: [[UInt8]] = []
        var wireLength = 1
        var cursor = position
        var resumeAt: Int?
        while true {
            guard cursor < bytes.count else { throw .truncated }
            let length = Int(bytes[cursor])
            switch length & 0xC0 {
            case 0:
                if length == 0 {
                    position = resumeAt ?? cursor + 1
                    return presentationText(labels)
                }
                guard length < bytes.count - cursor else { throw .truncated }
                wireLength += 1 + length
                guard wireLength <= DNSName.maxWireLength else { throw .nameTooLong }
                labels.append(Array(bytes[cursor + 1...cursor + length]))
                cursor += 1 + length
            case 0xC0:
                guard cursor + 1 < bytes.count else { throw .truncated }
                let target = (length & 0x3F) << 8 | Int(bytes[cursor + 1])
                guard target < cursor else { throw .badPointer }
                if resumeAt == nil { resumeAt = cursor + 2 }
                cursor = target
            default:
                throw .badLabelType
            }
        }
    }

    mutating func readRecords(_ count: UInt16) throws(DNSDecodingError) -> [DNSMessage.ResourceRecord] {
        var records: [DNSMessage.ResourceRecord] = []
        for _ in 0..<count { records.append(try readRecord()) }
        return records
    }

    private mutating func readRecord() throws(DNSDecodingError) -> DNSMessage.ResourceRecord {
        let name = try readName()
        let type = try readUInt16()
        let recordClass = try readUInt16()
        let ttl = try readUInt32()
        let length = Int(try readUInt16())
        guard length <= bytes.count - position else { throw .truncated }
        let end = position + length
        let data = try readData(type: type, length: length)
        guard position == end else { throw .badRecordData(type: type) }
        return DNSMessage.ResourceRecord(name: name, type: type, recordClass: recordClass, ttl: ttl, data: data)
    }

    private mutating func readData(type: UInt16, length: Int) throws(DNSDecodingError) -> DNSMessage.DecodedData {
        switch type {
        case DNSType.a where length == 4:
            return .record(.a(addressText(try readBytes(4), family: AF_INET)))
        case DNSType.aaaa where length == 16:
            return .record(.aaaa(addressText(try readBytes(16), family: AF_INET6)))
        case DNSType.cname: return .record(.cname(try readName()))
        case DNSType.ns: return .record(.ns(try readName()))
        case DNSType.mx: return .record(.mx(preference: try readUInt16(), exchange: try readName()))
        case DNSType.srv:
            return .record(.srv(priority: try readUInt16(), weight: try readUInt16(), port: try readUInt16(),
                                target: try readName()))
        case DNSType.txt:
            let end = position + length
            var strings: [String] = []
            while position < end {
                let count = Int(try readUInt8())
                guard count <= end - position else { throw .badRecordData(type: type) }
                strings.append(String(decoding: try readBytes(count), as: UTF8.self))
            }
            return .record(.txt(strings))
        case DNSType.soa:
            return .soa(nameServer: try readName(), hostmaster: try readName(), serial: try readUInt32(),
                        refresh: try readUInt32(), retry: try readUInt32(), expire: try readUInt32(),
                        minimum: try readUInt32())
        default:
            return .unknown(try readBytes(length))
        }
    }
}
