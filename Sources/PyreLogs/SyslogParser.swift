import Foundation

/// Parses one syslog message (RFC 5424, or the BSD forms RFC 3164 describes) into a record.
/// It never throws and never drops input: what does not parse comes back as `.unparsed` with
/// the bytes kept and a `parseError` (see docs/logs.md, "Parsing").
public enum SyslogParser {
    /// 64 KiB: the largest UDP payload, and what rsyslog and syslog-ng accept by default.
    public static let defaultLimit = 65_536

    /// - Parameters:
    ///   - receivedAt: when the message arrived; BSD timestamps take the year nearest to it.
    ///   - limit: longer input is cut to this many bytes and marked `truncated`.
    ///   - truncated: the framer already cut this message (`SyslogFrame.truncated`).
    ///   - bsdTimeZone: the zone of BSD timestamps, which carry none; nil reads them as UTC.
    public static func parse(
        _ bytes: [UInt8], receivedAt: Date = Date(), limit: Int = defaultLimit, truncated: Bool = false,
        bsdTimeZone: TimeZone? = nil
    ) -> SyslogRecord {
        bytes.withUnsafeBytes {
            parse($0, receivedAt: receivedAt, limit: limit, truncated: truncated, bsdTimeZone: bsdTimeZone)
        }
    }

    /// The same for bytes in place (a NIO buffer's readable bytes, a datagram).
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, receivedAt: Date = Date(), limit: Int = defaultLimit,
        truncated: Bool = false, bsdTimeZone: TimeZone? = nil
    ) -> SyslogRecord {
        let kept = min(bytes.count, max(limit, 0))
        let input = UnsafeRawBufferPointer(rebasing: bytes[..<kept])
        var record = SyslogRecord(
            format: .unparsed, facility: .user, severity: .notice, structuredData: [], message: [],
            raw: Array(input), receivedAt: receivedAt, truncated: truncated || kept < bytes.count)
        guard !input.isEmpty else {
            record.parseError = .empty
            return record
        }
        var scanner = ByteScanner(input)
        switch scanner.priority() {
        case .missing:
            // RFC 3164 section 4.3.3: no PRI means user.notice, and all of it is the message.
            record.parseError = .missingPRI
            record.message = messageBytes(input, from: 0)
            return record
        case .invalid:
            record.parseError = .invalidPRI
            record.message = messageBytes(input, from: 0)
            return record
        case .valid(let value):
            record.facility = SyslogFacility(rawValue: value >> 3) ?? .user
            record.severity = SyslogSeverity(rawValue: value & 7) ?? .notice
        }
        let body = scanner.index
        let error: SyslogParseError?
        switch scanner.version() {
        case 1?:
            record.format = .rfc5424
            error = RFC5424Parser.parse(&scanner, into: &record)
        case _?:
            error = .unsupportedVersion
        case nil:
            record.format = .rfc3164
            error = RFC3164Parser.parse(&scanner, into: &record, bsdTimeZone: bsdTimeZone)
        }
        if let error {
            record.format = .unparsed
            record.parseError = error
            record.message = messageBytes(input, from: body)
        }
        return record
    }

    /// MSG from `start`, without a leading UTF-8 BOM (RFC 5424 section 6.4) and without the
    /// trailing NUL, CR and LF that senders append as framing (Python adds a NUL, logger a LF).
    static func messageBytes(_ input: UnsafeRawBufferPointer, from start: Int) -> [UInt8] {
        var lower = start
        if input.count - lower >= 3, input[lower] == 0xEF, input[lower + 1] == 0xBB, input[lower + 2] == 0xBF {
            lower += 3
        }
        var upper = input.count
        while upper > lower, input[upper - 1] == 0 || input[upper - 1] == 0x0A || input[upper - 1] == 0x0D {
            upper -= 1
        }
        return Array(input[lower..<upper])
    }
}

enum PriorityMatch {
    case missing
    case invalid
    case valid(UInt8)
}

extension ByteScanner {
    /// `<PRIVAL>`: 1 to 3 digits, 0–191, no leading zero (RFC 5424 section 6.2.1).
    mutating func priority() -> PriorityMatch {
        guard skip(UInt8(ascii: "<")) else { return .missing }
        let start = index
        var value = 0
        while let byte = current, byte.isDigit, index - start < 3 {
            value = value * 10 + Int(byte &- UInt8(ascii: "0"))
            index += 1
        }
        let count = index - start
        guard count > 0, skip(UInt8(ascii: ">")), value <= 191, count == 1 || bytes[start] != UInt8(ascii: "0")
        else { return .invalid }
        return .valid(UInt8(value))
    }

    /// RFC 5424's VERSION (`1`–`999`) when it is followed by a space and what can start a
    /// TIMESTAMP (a digit or NILVALUE); otherwise nil and the scanner has not moved, since a
    /// BSD message may well start with a number.
    mutating func version() -> Int? {
        let start = index
        var value = 0
        while let byte = current, byte.isDigit, index - start < 3 {
            value = value * 10 + Int(byte &- UInt8(ascii: "0"))
            index += 1
        }
        guard index > start, bytes[start] != UInt8(ascii: "0"), current == .space,
              let next = peek(1), next.isDigit || next == UInt8(ascii: "-")
        else {
            index = start
            return nil
        }
        index += 1
        return value
    }
}
