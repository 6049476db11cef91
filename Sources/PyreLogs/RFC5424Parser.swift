import Foundation

/// The part of an RFC 5424 message after `<PRI>1 `: header fields, STRUCTURED-DATA and MSG.
enum RFC5424Parser {
    static func parse(_ scanner: inout ByteScanner, into record: inout SyslogRecord) -> SyslogParseError? {
        if let error = timestamp(&scanner, into: &record) { return error }
        do {
            record.hostname = try field(&scanner, maxLength: 255, error: .invalidHostname)
            record.appName = try field(&scanner, maxLength: 48, error: .invalidAppName)
            record.procID = try field(&scanner, maxLength: 128, error: .invalidProcID)
            record.msgID = try field(&scanner, maxLength: 32, error: .invalidMsgID)
            record.structuredData = try StructuredDataParser.parse(&scanner)
        } catch {
            return error
        }
        // MSG is optional; when present a single space separates it from STRUCTURED-DATA.
        if !scanner.isAtEnd {
            guard scanner.skip(.space) else { return .invalidStructuredData }
        }
        record.message = SyslogParser.messageBytes(scanner.bytes, from: scanner.index)
        return nil
    }

    private static func timestamp(_ scanner: inout ByteScanner, into record: inout SyslogRecord) -> SyslogParseError? {
        let start = scanner.index
        if scanner.current == UInt8(ascii: "-"), scanner.peek(1) == .space {
            scanner.index += 2
            return nil
        }
        guard case .time(let time, let offset?) = scanner.rfc3339Timestamp(maxFractionDigits: 6),
              scanner.skip(.space)
        else { return .invalidTimestamp }
        record.timestamp = Date(timeIntervalSince1970: time.secondsSinceEpoch - Double(offset))
        record.timestampText = scanner.string(start..<scanner.index - 1)
        return nil
    }

    /// A header field and the space after it: NILVALUE (nil) or 1 to `maxLength` visible ASCII bytes.
    private static func field(
        _ scanner: inout ByteScanner, maxLength: Int, error: SyslogParseError
    ) throws(SyslogParseError) -> String? {
        let range = scanner.word()
        guard scanner.skip(.space) else { throw .headerEndsEarly }
        guard !range.isEmpty, range.count <= maxLength else { throw error }
        for position in range where !scanner.bytes[position].isPrintableASCII { throw error }
        if range.count == 1, scanner.bytes[range.lowerBound] == UInt8(ascii: "-") { return nil }
        return scanner.string(range)
    }
}
