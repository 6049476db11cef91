import Foundation
import Testing
@testable import PyreLogs

/// BSD syslog as real senders write it: util-linux logger (`--rfc3164`, and to a local socket),
/// Python's SysLogHandler, rsyslog's forwarding templates; and the year and zone rules.
/// Messages are received at 2026-11-27T12:00:00Z unless a case says otherwise.
@Suite struct RFC3164CaseTests {
    @Test(arguments: cases)
    func parses(_ testCase: ParserCase) {
        testCase.check()
    }

    static let cases: [ParserCase] = [
        // Captured from util-linux logger 2.38 over UDP.
        ParserCase("logger --rfc3164", "<13>Nov 27 04:35:17 vm root: hello 3164",
                   ExpectedRecord(format: .rfc3164, timestamp: utc(2026, 11, 27, 4, 35, 17), hostname: "vm",
                                  appName: "root", message: "hello 3164")),
        ParserCase("logger --rfc3164 -i -t -p daemon.err", "<27>Nov 27 04:35:17 vm myapp[9616]: pid form",
                   ExpectedRecord(format: .rfc3164, facility: .daemon, severity: .err,
                                  timestamp: utc(2026, 11, 27, 4, 35, 17), hostname: "vm", appName: "myapp",
                                  procID: "9616", message: "pid form")),
        // logger to /dev/log leaves the hostname out.
        ParserCase("logger to a local socket", "<13>Nov 27 04:35:26 root: local-default",
                   ExpectedRecord(format: .rfc3164, timestamp: utc(2026, 11, 27, 4, 35, 26), appName: "root",
                                  message: "local-default")),
        ParserCase("logger -T (LF framing residue)", "<13>Nov 27 04:35:26 vm root: tcp-lf\n",
                   ExpectedRecord(format: .rfc3164, timestamp: utc(2026, 11, 27, 4, 35, 26), hostname: "vm",
                                  appName: "root", message: "tcp-lf")),
        // Captured from Python 3's logging.handlers.SysLogHandler (append_nul on by default).
        ParserCase("SysLogHandler", "<12>plain warning\u{0}",
                   ExpectedRecord(format: .rfc3164, severity: .warning, message: "plain warning")),
        ParserCase("SysLogHandler with ident", "<11>myapp[42]: with ident\u{0}",
                   ExpectedRecord(format: .rfc3164, severity: .err, appName: "myapp", procID: "42",
                                  message: "with ident")),
        ParserCase("SysLogHandler with a formatter, no NUL", "<14>myapp[42]: x: formatted ünïcode",
                   ExpectedRecord(format: .rfc3164, severity: .info, appName: "myapp", procID: "42",
                                  message: "x: formatted ünïcode")),
        ParserCase("SysLogHandler with ident without pid", "<134>web: GET / 200",
                   ExpectedRecord(format: .rfc3164, facility: .local0, severity: .info, appName: "web",
                                  message: "GET / 200")),
        // rsyslog's RSYSLOG_ForwardFormat: an RFC 3339 timestamp in the BSD position.
        ParserCase("rsyslog ForwardFormat", "<86>2026-11-27T04:35:26.296897+01:00 vm sshd[812]: Accepted publickey",
                   ExpectedRecord(format: .rfc3164, facility: .authpriv, severity: .info,
                                  timestamp: utc(2026, 11, 27, 3, 35, 26, fraction: 0.296897), hostname: "vm",
                                  appName: "sshd", procID: "812", message: "Accepted publickey")),
        ParserCase("rsyslog TraditionalForwardFormat", "<30>Nov 27 04:35:26 vm systemd[1]: Started cron.service.",
                   ExpectedRecord(format: .rfc3164, facility: .daemon, severity: .info,
                                  timestamp: utc(2026, 11, 27, 4, 35, 26), hostname: "vm", appName: "systemd",
                                  procID: "1", message: "Started cron.service.")),
        ParserCase("space-padded day", "<13>Nov  5 04:35:26 host app: padded",
                   ExpectedRecord(format: .rfc3164, timestamp: utc(2026, 11, 5, 4, 35, 26), hostname: "host",
                                  appName: "app", message: "padded")),
        ParserCase("single-digit day without padding", "<13>Nov 5 04:35:26 host app: unpadded",
                   ExpectedRecord(format: .rfc3164, timestamp: utc(2026, 11, 5, 4, 35, 26), hostname: "host",
                                  appName: "app", message: "unpadded")),
        ParserCase("with a year", "<13>Mar 14 2019 15:09:26 host app: old",
                   ExpectedRecord(format: .rfc3164, timestamp: utc(2019, 3, 14, 15, 9, 26), hostname: "host",
                                  appName: "app", message: "old")),
        ParserCase("hostname and no tag", "<13>Nov 27 04:35:26 host a message without a tag",
                   ExpectedRecord(format: .rfc3164, timestamp: utc(2026, 11, 27, 4, 35, 26), hostname: "host",
                                  message: "a message without a tag")),
        ParserCase("nothing after PRI", "<13>", ExpectedRecord(format: .rfc3164)),
        ParserCase("a tag longer than 48 bytes is message text", "<13>\(String(repeating: "t", count: 49)): x",
                   ExpectedRecord(format: .rfc3164, message: "\(String(repeating: "t", count: 49)): x")),
        ParserCase("day 31 of November", "<13>Nov 31 04:35:26 host app: x",
                   ExpectedRecord(format: .unparsed, message: "Nov 31 04:35:26 host app: x", parseError: .invalidTimestamp)),
        ParserCase("hour 25", "<13>Nov 27 25:35:26 host app: x",
                   ExpectedRecord(format: .unparsed, message: "Nov 27 25:35:26 host app: x", parseError: .invalidTimestamp)),
        ParserCase("RFC 3339 month 13 in the BSD position", "<13>2026-13-27T04:35:26Z host app: x",
                   ExpectedRecord(format: .unparsed, message: "2026-13-27T04:35:26Z host app: x",
                                  parseError: .invalidTimestamp)),
        ParserCase("a month-like word is text", "<13>May I have a word",
                   ExpectedRecord(format: .rfc3164, message: "May I have a word")),
        // Year inference: the year nearest the arrival, at most a day ahead of it.
        ParserCase("December read on New Year's Day is last year", "<13>Dec 31 23:59:50 host app: x",
                   receivedAt: utc(2027, 1, 1, 0, 0, 30),
                   ExpectedRecord(format: .rfc3164, timestamp: utc(2026, 12, 31, 23, 59, 50), hostname: "host",
                                  appName: "app", message: "x")),
        ParserCase("a sender's clock just past midnight is next year", "<13>Jan  1 00:00:10 host app: x",
                   receivedAt: utc(2026, 12, 31, 23, 59, 50),
                   ExpectedRecord(format: .rfc3164, timestamp: utc(2027, 1, 1, 0, 0, 10), hostname: "host",
                                  appName: "app", message: "x")),
        ParserCase("more than a day ahead is last year", "<13>Dec 25 10:00:00 host app: x",
                   ExpectedRecord(format: .rfc3164, timestamp: utc(2025, 12, 25, 10, 0, 0), hostname: "host",
                                  appName: "app", message: "x")),
        ParserCase("February 29 in a leap year", "<13>Feb 29 10:00:00 host app: x", receivedAt: utc(2028, 3, 1, 0, 0, 0),
                   ExpectedRecord(format: .rfc3164, timestamp: utc(2028, 2, 29, 10, 0, 0), hostname: "host",
                                  appName: "app", message: "x")),
        ParserCase("February 29 with no leap year near", "<13>Feb 29 10:00:00 host app: x",
                   ExpectedRecord(format: .unparsed, message: "Feb 29 10:00:00 host app: x", parseError: .invalidTimestamp)),
        ParserCase("BSD time in a configured zone", "<13>Nov 27 04:35:26 host app: x",
                   bsdTimeZone: TimeZone(secondsFromGMT: 3_600),
                   ExpectedRecord(format: .rfc3164, timestamp: utc(2026, 11, 27, 3, 35, 26), hostname: "host",
                                  appName: "app", message: "x")),
        ParserCase("cut at the limit", "<13>Nov 27 04:35:26 host app: 0123456789", limit: 32,
                   ExpectedRecord(format: .rfc3164, timestamp: utc(2026, 11, 27, 4, 35, 26), hostname: "host",
                                  appName: "app", message: "01", truncated: true)),
    ]

    @Test func timestampTextIsKeptAsSent() {
        let record = SyslogParser.parse(Array("<13>Nov  5 04:35:26 host app: x".utf8), receivedAt: utc(2026, 11, 27, 0, 0, 0))
        #expect(record.timestampText == "Nov  5 04:35:26")
    }
}
