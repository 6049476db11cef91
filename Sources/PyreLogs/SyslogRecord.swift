import Foundation

/// One received syslog message, parsed as far as it would go. The parser never drops a message:
/// whatever did not parse is still here in `raw` and `message`, with `parseError` saying why.
public struct SyslogRecord: Sendable, Hashable {
    /// Which grammar the message matched.
    public enum Format: String, Sendable, Hashable {
        case rfc5424, rfc3164
        /// No grammar matched; `message` holds everything after a valid PRI (or all of `raw`).
        case unparsed
    }

    public var format: Format
    public var facility: SyslogFacility
    public var severity: SyslogSeverity
    /// When the sender says the event happened; nil for NILVALUE or no timestamp.
    public var timestamp: Date?
    /// The timestamp as sent, for BSD timestamps whose year and zone were inferred.
    public var timestampText: String?
    public var hostname: String?
    /// RFC 5424 APP-NAME, or the BSD TAG.
    public var appName: String?
    /// RFC 5424 PROCID, or the BSD `[pid]`.
    public var procID: String?
    public var msgID: String?
    /// SD-ELEMENTs in the order sent.
    public var structuredData: [SyslogStructuredElement]
    /// MSG without a leading UTF-8 BOM and without trailing NUL, CR or LF (framing residue).
    public var message: [UInt8]
    /// The bytes received, cut to the parser's limit.
    public var raw: [UInt8]
    public var receivedAt: Date
    /// Nil when the message matched its grammar; otherwise what was wrong first.
    public var parseError: SyslogParseError?
    /// The sender's message was longer than the limit and was cut.
    public var truncated: Bool

    /// `message` as text, with invalid UTF-8 replaced by U+FFFD.
    public var messageText: String { String(decoding: message, as: UTF8.self) }

    public init(format: Format, facility: SyslogFacility, severity: SyslogSeverity, timestamp: Date? = nil,
                timestampText: String? = nil, hostname: String? = nil, appName: String? = nil, procID: String? = nil,
                msgID: String? = nil, structuredData: [SyslogStructuredElement], message: [UInt8], raw: [UInt8],
                receivedAt: Date, parseError: SyslogParseError? = nil, truncated: Bool) {
        self.format = format
        self.facility = facility
        self.severity = severity
        self.timestamp = timestamp
        self.timestampText = timestampText
        self.hostname = hostname
        self.appName = appName
        self.procID = procID
        self.msgID = msgID
        self.structuredData = structuredData
        self.message = message
        self.raw = raw
        self.receivedAt = receivedAt
        self.parseError = parseError
        self.truncated = truncated
    }
}

/// An RFC 5424 SD-ELEMENT: `[id name="value" …]`.
public struct SyslogStructuredElement: Sendable, Hashable {
    public var id: String
    /// In the order sent; a name may repeat (RFC 5424 section 6.3.3).
    public var parameters: [SyslogStructuredParameter]

    public init(id: String, parameters: [SyslogStructuredParameter] = []) {
        self.id = id
        self.parameters = parameters
    }
}

/// An SD-PARAM with its value unescaped.
public struct SyslogStructuredParameter: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// Why a message did not match its grammar; short enough to store with every record.
public enum SyslogParseError: String, Error, Sendable, Hashable, CustomStringConvertible {
    case empty = "empty message"
    case missingPRI = "no PRI"
    case invalidPRI = "invalid PRI"
    case unsupportedVersion = "unsupported version"
    case invalidTimestamp = "invalid timestamp"
    case headerEndsEarly = "header ends early"
    case invalidHostname = "invalid hostname"
    case invalidAppName = "invalid APP-NAME"
    case invalidProcID = "invalid PROCID"
    case invalidMsgID = "invalid MSGID"
    case invalidStructuredData = "invalid structured data"
    case unterminatedStructuredData = "unterminated structured data"

    public var description: String { rawValue }
}
