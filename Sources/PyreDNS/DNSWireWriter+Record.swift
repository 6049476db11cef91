extension DNSWireWriter {
    /// Writes one resource record of class IN. Names in CNAME, NS, MX and SOA data are
    /// compressed; the SRV target is not (RFC 2782).
    mutating func writeRecord(_ record: ZoneRecord) {
        writeName(record.name)
        writeUInt16(record.type)
        writeUInt16(1)
        writeUInt32(record.ttl)
        writeLengthPrefixed { writer in
            switch record.data {
            case .a(let bytes), .aaaa(let bytes):
                writer.writeBytes(bytes)
            case .cname(let target), .ns(let target):
                writer.writeName(target)
            case .txt(let strings):
                for string in strings {
                    writer.writeUInt8(UInt8(string.count))
                    writer.writeBytes(string)
                }
            case .srv(let priority, let weight, let port, let target):
                writer.writeUInt16(priority)
                writer.writeUInt16(weight)
                writer.writeUInt16(port)
                writer.writeName(target, compress: false)
            case .mx(let preference, let exchange):
                writer.writeUInt16(preference)
                writer.writeName(exchange)
            case .soa(let soa):
                writer.writeName(soa.nameServer)
                writer.writeName(soa.hostmaster)
                for value in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] {
                    writer.writeUInt32(value)
                }
            }
        }
    }
}
