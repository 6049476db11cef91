import Foundation

/// One stored log record: a syslog message as parsed, or a line a server wrote to stdout or
/// stderr, with the server it came from. `sequence` numbers records in commit order, from 1,
/// without gaps; it is the cursor of `pyre logs --follow` and of the API's event stream.
public struct LogRecord: Sendable, Hashable {
    /// Where the record came from.
    public enum Source: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        case syslog, stdout, stderr

        public var description: String {
            switch self {
            case .syslog: "syslog"
            case .stdout: "stdout"
            case .stderr: "stderr"
            }
        }
    }

    public var sequence: UInt64
    /// When the store received it, in microseconds since 1970; what `--since` and retention use.
    public var receivedAt: Int64
    /// When the sender says it happened (microseconds since 1970), when it says.
    public var timestamp: Int64?
    public var facility: SyslogFacility
    public var severity: SyslogSeverity
    public var format: SyslogRecord.Format
    public var source: Source
    /// The service and server the record belongs to, when Pyre knows (shipped output, or a
    /// syslog sender whose address is a server's).
    public var service: String
    public var server: String
    public var generation: Int?
    public var hostname: String
    public var appName: String
    public var procID: String
    public var msgID: String
    /// Structured data in RFC 5424 form (`[id k="v"]…`), empty when there is none.
    public var structuredData: String
    public var message: String
    /// Nil when the message matched its grammar.
    public var parseError: String?
    /// The sender's message was longer than the limit and was cut.
    public var truncated: Bool

    public init(
        sequence: UInt64 = 0, receivedAt: Int64, timestamp: Int64? = nil, facility: SyslogFacility = .user,
        severity: SyslogSeverity = .info, format: SyslogRecord.Format = .rfc5424, source: Source = .syslog,
        service: String = "", server: String = "", generation: Int? = nil, hostname: String = "", appName: String = "",
        procID: String = "", msgID: String = "", structuredData: String = "", message: String,
        parseError: String? = nil, truncated: Bool = false
    ) {
        self.sequence = sequence
        self.receivedAt = receivedAt
        self.timestamp = timestamp
        self.facility = facility
        self.severity = severity
        self.format = format
        self.source = source
        self.service = service
        self.server = server
        self.generation = generation
        self.hostname = hostname
        self.appName = appName
        self.procID = procID
        self.msgID = msgID
        self.structuredData = structuredData
        self.message = message
        self.parseError = parseError
        self.truncated = truncated
    }

    /// Microseconds since 1970 for `date`.
    public static func microseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    public var receivedDate: Date { Date(timeIntervalSince1970: Double(receivedAt) / 1_000_000) }
}

/// Which server a record belongs to, as far as Pyre knows it.
public struct LogOrigin: Sendable, Hashable {
    public var service: String
    public var server: String
    public var generation: Int?

    public init(service: String, server: String, generation: Int?) {
        self.service = service
        self.server = server
        self.generation = generation
    }
}

extension LogRecord {
    /// A parsed syslog message, attributed to `origin` when its sender is a known server.
    public init(_ syslog: SyslogRecord, origin: LogOrigin? = nil) {
        self.init(
            receivedAt: Self.microseconds(syslog.receivedAt), timestamp: syslog.timestamp.map(Self.microseconds),
            facility: syslog.facility, severity: syslog.severity, format: syslog.format, source: .syslog,
            service: origin?.service ?? "", server: origin?.server ?? "", generation: origin?.generation,
            hostname: syslog.hostname ?? "", appName: syslog.appName ?? "", procID: syslog.procID ?? "",
            msgID: syslog.msgID ?? "", structuredData: syslog.structuredData.map(\.rfc5424).joined(),
            message: syslog.messageText, parseError: syslog.parseError?.rawValue, truncated: syslog.truncated)
    }

    /// One line a server wrote: app-name is its service, hostname its id. Standard error is
    /// stored as `err`, standard output as `info`, as most log services rank them.
    public init(line: String, source: Source, origin: LogOrigin, receivedAt: Date = Date()) {
        self.init(
            receivedAt: Self.microseconds(receivedAt), facility: .user, severity: source == .stderr ? .err : .info,
            format: .rfc5424, source: source, service: origin.service, server: origin.server,
            generation: origin.generation, hostname: origin.server, appName: origin.service, message: line)
    }
}

extension SyslogStructuredElement {
    /// `[id name="value" …]` with `"`, `\` and `]` escaped as RFC 5424 section 6.3.3 says.
    public var rfc5424: String {
        var text = "[" + id
        for parameter in parameters {
            var value = ""
            for character in parameter.value {
                if character == "\"" || character == "\\" || character == "]" { value.append("\\") }
                value.append(character)
            }
            text += " \(parameter.name)=\"\(value)\""
        }
        return text + "]"
    }
}
