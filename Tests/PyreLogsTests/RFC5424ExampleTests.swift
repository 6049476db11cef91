import Foundation
import Testing
@testable import PyreLogs

/// The four examples of RFC 5424 section 6.5, byte for byte (BOM as EF BB BF).
@Suite struct RFC5424ExampleTests {
    @Test func example1WithoutStructuredData() {
        ParserCase("6.5 example 1",
                   "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \(bom)'su root' failed for lonvick on /dev/pts/8",
                   ExpectedRecord(format: .rfc5424, facility: .auth, severity: .crit,
                                  timestamp: utc(2003, 10, 11, 22, 14, 15, fraction: 0.003),
                                  hostname: "mymachine.example.com", appName: "su", msgID: "ID47",
                                  message: "'su root' failed for lonvick on /dev/pts/8")).check()
    }

    @Test func example2WithMicrosecondsAndOffsetAndNoBOM() {
        ParserCase("6.5 example 2",
                   "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
                   ExpectedRecord(format: .rfc5424, facility: .local4, severity: .notice,
                                  timestamp: utc(2003, 8, 24, 5, 14, 15, fraction: 0.000003, offsetMinutes: -7 * 60),
                                  hostname: "192.0.2.1", appName: "myproc", procID: "8710",
                                  message: "%% It's time to make the do-nuts.")).check()
    }

    @Test func example3WithStructuredData() {
        let input = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
            + "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"] \(bom)An application event log entry..."
        ParserCase("6.5 example 3", input,
                   ExpectedRecord(format: .rfc5424, facility: .local4, severity: .notice,
                                  timestamp: utc(2003, 10, 11, 22, 14, 15, fraction: 0.003),
                                  hostname: "mymachine.example.com", appName: "evntslog", msgID: "ID47",
                                  structuredData: [exampleSDID],
                                  message: "An application event log entry...")).check()
    }

    @Test func example4WithTwoElementsAndNoMessage() {
        let input = "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
            + "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"][examplePriority@32473 class=\"high\"]"
        ParserCase("6.5 example 4", input,
                   ExpectedRecord(format: .rfc5424, facility: .local4, severity: .notice,
                                  timestamp: utc(2003, 10, 11, 22, 14, 15, fraction: 0.003),
                                  hostname: "mymachine.example.com", appName: "evntslog", msgID: "ID47",
                                  structuredData: [
                                      exampleSDID,
                                      SyslogStructuredElement(id: "examplePriority@32473",
                                                              parameters: [.init("class", "high")]),
                                  ])).check()
    }

    private let exampleSDID = SyslogStructuredElement(id: "exampleSDID@32473", parameters: [
        .init("iut", "3"), .init("eventSource", "Application"), .init("eventID", "1011"),
    ])
}
