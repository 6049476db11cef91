import Foundation

/// The BSD forms after `<PRI>`: `[TIMESTAMP SP [HOSTNAME SP]][TAG[[pid]]: ]MSG`, where TIMESTAMP
/// is `Mmm dd hh:mm:ss` (day space-padded or not, optional year) or RFC 3339 as rsyslog
/// forwards it. Without a timestamp there is no hostname either: that is what logger and
/// Python's SysLogHandler send to a local socket (`<PRI>TAG: msg`, `<PRI>msg`).
enum RFC3164Parser {
    static func parse(
        _ scanner: inout ByteScanner, into record: inout SyslogRecord, bsdTimeZone: TimeZone?
    ) -> SyslogParseError? {
        let start = scanner.index
        switch timestamp(&scanner, receivedAt: record.receivedAt, bsdTimeZone: bsdTimeZone) {
        case .noMatch:
            break
        case .invalid:
            return .invalidTimestamp
        case .time(let date):
            record.timestamp = date
            record.timestampText = scanner.string(start..<scanner.index)
            _ = scanner.skip(.space)
            hostname(&scanner, into: &record)
        }
        tag(&scanner, into: &record)
        record.message = SyslogParser.messageBytes(scanner.bytes, from: scanner.index)
        return nil
    }

    private enum DateMatch {
        case noMatch
        case invalid
        case time(Date)
    }

    private static func timestamp(
        _ scanner: inout ByteScanner, receivedAt: Date, bsdTimeZone: TimeZone?
    ) -> DateMatch {
        switch scanner.rfc3339Timestamp(maxFractionDigits: 9) {
        case .noMatch:
            break
        case .invalid:
            return .invalid
        case .time(let time, let offset):
            return .time(Date(timeIntervalSince1970: time.secondsSinceEpoch - Double(offset ?? 0)))
        }
        let (match, hasYear) = scanner.bsdTimestamp()
        switch match {
        case .noMatch:
            return .noMatch
        case .invalid:
            return .invalid
        case .time(let time, _):
            let seconds = hasYear ? utcSeconds(time) : nearestYear(time, to: receivedAt)
            guard let seconds else { return .invalid }
            return .time(Date(timeIntervalSince1970: seconds - zoneOffset(bsdTimeZone, at: seconds)))
        }
    }

    private static func utcSeconds(_ time: CivilTime) -> Double? {
        time.isValid ? time.secondsSinceEpoch : nil
    }

    /// A BSD timestamp has no year: take the one that puts it nearest `receivedAt` without being
    /// more than a day ahead of it (clock skew), so December messages read in January land in
    /// the old year. Nil when no nearby year has the date (Feb 29 far from a leap year).
    private static func nearestYear(_ time: CivilTime, to receivedAt: Date) -> Double? {
        let received = receivedAt.timeIntervalSince1970
        let receivedYear = CivilTime.year(containing: received)
        var best: Double?
        for year in receivedYear - 1...receivedYear + 1 {
            var candidate = time
            candidate.year = year
            guard let seconds = utcSeconds(candidate), seconds <= received + 86_400 else { continue }
            if best.map({ seconds > $0 }) ?? true { best = seconds }
        }
        return best
    }

    private static func zoneOffset(_ zone: TimeZone?, at seconds: Double) -> Double {
        guard let zone else { return 0 }
        return Double(zone.secondsFromGMT(for: Date(timeIntervalSince1970: seconds)))
    }

    /// The word after the timestamp is the HOSTNAME unless it already looks like a TAG
    /// (`app:` or `app[pid]:`), as when logger writes to a local socket.
    private static func hostname(_ scanner: inout ByteScanner, into record: inout SyslogRecord) {
        let start = scanner.index
        let range = scanner.word()
        let looksLikeTag = range.contains { scanner.bytes[$0] == UInt8(ascii: "[") }
            || (!range.isEmpty && scanner.bytes[range.upperBound - 1] == UInt8(ascii: ":"))
        let printable = range.allSatisfy { scanner.bytes[$0].isPrintableASCII }
        guard !range.isEmpty, range.count <= 255, printable, !looksLikeTag, scanner.skip(.space) else {
            scanner.index = start
            return
        }
        record.hostname = scanner.string(range)
    }

    /// `TAG:` or `TAG[pid]:` and the space after it; the TAG is at most 48 bytes (RFC 5424's
    /// APP-NAME, wider than RFC 3164's 32 because real tags are).
    private static func tag(_ scanner: inout ByteScanner, into record: inout SyslogRecord) {
        let start = scanner.index
        while let byte = scanner.current, byte.isPrintableASCII, byte != UInt8(ascii: "["),
              byte != UInt8(ascii: "]"), byte != UInt8(ascii: ":"), scanner.index - start < 48 {
            scanner.index += 1
        }
        let tagEnd = scanner.index
        var procID: Range<Int>?
        if tagEnd > start, scanner.skip(UInt8(ascii: "[")) {
            let pidStart = scanner.index
            while let byte = scanner.current, byte.isPrintableASCII, byte != UInt8(ascii: "]"),
                  scanner.index - pidStart < 128 {
                scanner.index += 1
            }
            if scanner.index > pidStart, scanner.skip(UInt8(ascii: "]")) { procID = pidStart..<scanner.index - 1 }
        }
        let tagged = tagEnd > start && (procID != nil || scanner.index == tagEnd)
        guard tagged, scanner.skip(UInt8(ascii: ":")) else {
            scanner.index = start
            return
        }
        _ = scanner.skip(.space)
        record.appName = scanner.string(start..<tagEnd)
        record.procID = procID.map(scanner.string)
    }
}
