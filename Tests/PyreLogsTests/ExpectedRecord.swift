import Foundation
import Testing
@testable import PyreLogs

/// Every field a parsed record must have; nil and empty are expectations too, so a case that
/// leaves a field out asserts that the parser left it empty.
struct ExpectedRecord: Sendable {
    var format: SyslogRecord.Format
    var facility: SyslogFacility = .user
    var severity: SyslogSeverity = .notice
    var timestamp: Date?
    var hostname: String?
    var appName: String?
    var procID: String?
    var msgID: String?
    var structuredData: [SyslogStructuredElement] = []
    var message: String = ""
    var parseError: SyslogParseError?
    var truncated = false
}

/// A parser input and what it must parse to.
struct ParserCase: Sendable, CustomTestStringConvertible {
    var name: String
    var input: [UInt8]
    var receivedAt = utc(2026, 11, 27, 12, 0, 0)
    var limit = SyslogParser.defaultLimit
    var bsdTimeZone: TimeZone?
    var expected: ExpectedRecord

    init(_ name: String, _ input: String, receivedAt: Date = utc(2026, 11, 27, 12, 0, 0), limit: Int = SyslogParser.defaultLimit,
         bsdTimeZone: TimeZone? = nil, _ expected: ExpectedRecord) {
        self.init(name, Array(input.utf8), receivedAt: receivedAt, limit: limit, bsdTimeZone: bsdTimeZone, expected)
    }

    init(_ name: String, _ input: [UInt8], receivedAt: Date = utc(2026, 11, 27, 12, 0, 0), limit: Int = SyslogParser.defaultLimit,
         bsdTimeZone: TimeZone? = nil, _ expected: ExpectedRecord) {
        self.name = name
        self.input = input
        self.receivedAt = receivedAt
        self.limit = limit
        self.bsdTimeZone = bsdTimeZone
        self.expected = expected
    }

    var testDescription: String { name }

    func check(sourceLocation: SourceLocation = #_sourceLocation) {
        let record = SyslogParser.parse(input, receivedAt: receivedAt, limit: limit, bsdTimeZone: bsdTimeZone)
        expectRecord(record, expected, input: input, sourceLocation: sourceLocation)
    }
}

func expectRecord(
    _ record: SyslogRecord, _ expected: ExpectedRecord, input: [UInt8],
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(record.format == expected.format, sourceLocation: sourceLocation)
    #expect(record.facility == expected.facility, sourceLocation: sourceLocation)
    #expect(record.severity == expected.severity, sourceLocation: sourceLocation)
    switch (record.timestamp, expected.timestamp) {
    case (let parsed?, let wanted?):
        #expect(abs(parsed.timeIntervalSince(wanted)) < 1e-6, "\(parsed) is not \(wanted)", sourceLocation: sourceLocation)
    default:
        #expect(record.timestamp == expected.timestamp, sourceLocation: sourceLocation)
    }
    #expect(record.hostname == expected.hostname, sourceLocation: sourceLocation)
    #expect(record.appName == expected.appName, sourceLocation: sourceLocation)
    #expect(record.procID == expected.procID, sourceLocation: sourceLocation)
    #expect(record.msgID == expected.msgID, sourceLocation: sourceLocation)
    #expect(record.structuredData == expected.structuredData, sourceLocation: sourceLocation)
    #expect(record.messageText == expected.message, sourceLocation: sourceLocation)
    #expect(record.parseError == expected.parseError, sourceLocation: sourceLocation)
    #expect(record.truncated == expected.truncated, sourceLocation: sourceLocation)
    #expect(record.raw == Array(input.prefix(record.raw.count)), sourceLocation: sourceLocation)
}

/// A moment given in UTC, with Foundation's calendar (not the parser's arithmetic).
func utc(
    _ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int,
    fraction: Double = 0, offsetMinutes: Int = 0
) -> Date {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    let whole = calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute,
                                                   second: second))!
    return whole.addingTimeInterval(fraction - Double(offsetMinutes * 60))
}

let bom = "\u{FEFF}"
