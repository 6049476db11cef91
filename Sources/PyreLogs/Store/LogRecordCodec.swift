import PyreCore

/// The on-disk form of a record: `LENGTH CRC PAYLOAD`, both little-endian UInt32, the CRC-32C
/// of the payload. The payload starts with a fixed 36-byte header, so a query filters on
/// time, severity, generation and names without decoding the rest:
///
///     0  sequence u64      8  receivedAt i64    16 timestamp i64 (Int64.min: none)
///     24 facility u8       25 severity u8       26 format u8      27 source u8
///     28 flags u8 (1 truncated, 2 has generation, 4 has parse error)   32 generation u32
///     36 service, server, hostname, appName, procID, msgID, parseError (u16 length + bytes),
///        structuredData, message (u32 length + bytes)
enum LogRecordCodec {
    static let frameHeader = 8
    static let fixedHeader = 36
    /// Larger frames are corruption: a record holds at most a 64 KiB message plus its fields.
    static let maxPayload = 1 << 20

    /// Appends `record`'s frame to `buffer`. Allocates nothing but the buffer's growth: the
    /// writer thread encodes every record the store receives.
    static func encode(_ record: LogRecord, into buffer: inout [UInt8]) {
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: frameHeader))
        let payloadStart = buffer.count
        append(record.sequence, to: &buffer)
        append(UInt64(bitPattern: record.receivedAt), to: &buffer)
        append(UInt64(bitPattern: record.timestamp ?? .min), to: &buffer)
        var flags: UInt8 = record.truncated ? 1 : 0
        if record.generation != nil { flags |= 2 }
        if record.parseError != nil { flags |= 4 }
        buffer.append(record.facility.rawValue)
        buffer.append(record.severity.rawValue)
        buffer.append(formatCode(record.format))
        buffer.append(record.source.rawValue)
        buffer.append(flags)
        buffer.append(contentsOf: repeatElement(0, count: 3))
        append(UInt32(clamping: record.generation ?? 0), to: &buffer)
        appendShort(record.service, to: &buffer)
        appendShort(record.server, to: &buffer)
        appendShort(record.hostname, to: &buffer)
        appendShort(record.appName, to: &buffer)
        appendShort(record.procID, to: &buffer)
        appendShort(record.msgID, to: &buffer)
        appendShort(record.parseError ?? "", to: &buffer)
        appendLong(record.structuredData, to: &buffer)
        appendLong(record.message, to: &buffer)
        let payloadCount = buffer.count - payloadStart
        let crc = buffer.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[payloadStart...])) }
        buffer.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: UInt32(payloadCount).littleEndian, toByteOffset: start, as: UInt32.self)
            bytes.storeBytes(of: crc.littleEndian, toByteOffset: start + 4, as: UInt32.self)
        }
    }

    /// The frame at `offset`, nil when what is there is not a whole, intact frame (a torn tail).
    static func frame(in bytes: UnsafeRawBufferPointer, at offset: Int, verify: Bool) -> LogRecordView? {
        guard bytes.count - offset >= frameHeader else { return nil }
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
        guard length >= fixedHeader, length <= maxPayload, bytes.count - offset - frameHeader >= length else { return nil }
        let payload = UnsafeRawBufferPointer(rebasing: bytes[(offset + frameHeader)..<(offset + frameHeader + length)])
        if verify {
            let crc = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self))
            guard CRC32C.checksum(payload) == crc else { return nil }
        }
        let view = LogRecordView(payload: payload)
        return verify && !view.fieldsFit ? nil : view
    }

    private static func formatCode(_ format: SyslogRecord.Format) -> UInt8 {
        switch format {
        case .rfc5424: 0
        case .rfc3164: 1
        case .unparsed: 2
        }
    }

    static func format(code: UInt8) -> SyslogRecord.Format {
        switch code {
        case 0: .rfc5424
        case 1: .rfc3164
        default: .unparsed
        }
    }

    private static func append<T: FixedWidthInteger>(_ value: T, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { buffer.append(contentsOf: $0) }
    }

    /// Names are short by the syslog grammar; anything longer is cut at a character boundary.
    private static func appendShort(_ text: String, to buffer: inout [UInt8]) {
        let count = text.utf8.count
        guard count > Int(UInt16.max) else {
            append(UInt16(count), to: &buffer)
            buffer.append(contentsOf: text.utf8)
            return
        }
        let cut = Array(String(decoding: text.utf8.prefix(Int(UInt16.max) - 3), as: UTF8.self).utf8.prefix(Int(UInt16.max)))
        append(UInt16(cut.count), to: &buffer)
        buffer.append(contentsOf: cut)
    }

    private static func appendLong(_ text: String, to buffer: inout [UInt8]) {
        append(UInt32(text.utf8.count), to: &buffer)
        buffer.append(contentsOf: text.utf8)
    }
}

/// A stored record in place (in a mapped segment): fixed fields read directly, text fields
/// as byte ranges, so filtering allocates nothing.
struct LogRecordView {
    let payload: UnsafeRawBufferPointer

    var frameSize: Int { payload.count + LogRecordCodec.frameHeader }
    var sequence: UInt64 { load(0) }
    var receivedAt: Int64 { Int64(bitPattern: load(8) as UInt64) }
    var timestamp: Int64? {
        let value = Int64(bitPattern: load(16) as UInt64)
        return value == .min ? nil : value
    }
    var severity: UInt8 { payload[25] }
    private var flags: UInt8 { payload[28] }
    var generation: Int? { flags & 2 != 0 ? Int(load(32) as UInt32) : nil }

    /// Field `index` in the order of the layout: 0 service … 6 parseError, 7 structured data, 8 message.
    func field(_ index: Int) -> UnsafeRawBufferPointer {
        var offset = LogRecordCodec.fixedHeader
        for current in 0...index {
            let long = current >= 7
            let length = long ? Int(load(offset) as UInt32) : Int(load(offset) as UInt16)
            offset += long ? 4 : 2
            if current == index { return UnsafeRawBufferPointer(rebasing: payload[offset..<(offset + length)]) }
            offset += length
        }
        fatalError("unreachable")
    }

    /// Every length stays inside the payload (checked once, when a segment is opened).
    var fieldsFit: Bool {
        var offset = LogRecordCodec.fixedHeader
        for index in 0..<9 {
            let width = index >= 7 ? 4 : 2
            guard payload.count - offset >= width else { return false }
            let length = width == 4 ? Int(load(offset) as UInt32) : Int(load(offset) as UInt16)
            offset += width
            guard payload.count - offset >= length else { return false }
            offset += length
        }
        return offset == payload.count
    }

    func decode() -> LogRecord {
        let text = { (index: Int) in String(decoding: field(index), as: UTF8.self) }
        let flags = self.flags
        return LogRecord(
            sequence: sequence, receivedAt: receivedAt, timestamp: timestamp,
            facility: SyslogFacility(rawValue: payload[24]) ?? .user, severity: SyslogSeverity(rawValue: severity) ?? .notice,
            format: LogRecordCodec.format(code: payload[26]), source: LogRecord.Source(rawValue: payload[27]) ?? .syslog,
            service: text(0), server: text(1), generation: generation, hostname: text(2), appName: text(3),
            procID: text(4), msgID: text(5), structuredData: text(7), message: text(8),
            parseError: flags & 4 != 0 ? text(6) : nil, truncated: flags & 1 != 0)
    }

    private func load<T: FixedWidthInteger>(_ offset: Int) -> T {
        T(littleEndian: payload.loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
