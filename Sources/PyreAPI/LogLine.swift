import Foundation

/// A log record as the control API returns it (`GET /v1/logs`) and `pyre logs --json` prints it.
public struct LogLine: Codable, Sendable, Equatable {
    public var sequence: UInt64
    public var receivedAt: Date
    public var timestamp: Date?
    public var facility: String
    public var severity: String
    public var format: String
    /// `syslog`, `stdout` or `stderr`.
    public var source: String
    public var service: String?
    public var server: String?
    public var generation: Int?
    public var hostname: String?
    public var appName: String?
    public var procID: String?
    public var msgID: String?
    public var structuredData: String?
    public var message: String
    public var parseError: String?
    public var truncated: Bool

    enum CodingKeys: String, CodingKey {
        case sequence, timestamp, facility, severity, format, source, service, server, generation, hostname, message, truncated
        case receivedAt = "received_at"
        case appName = "app_name"
        case procID = "proc_id"
        case msgID = "msg_id"
        case structuredData = "structured_data"
        case parseError = "parse_error"
    }

    public init(sequence: UInt64, receivedAt: Date, timestamp: Date?, facility: String, severity: String, format: String,
                source: String, service: String?, server: String?, generation: Int?, hostname: String?, appName: String?,
                procID: String?, msgID: String?, structuredData: String?, message: String, parseError: String?,
                truncated: Bool) {
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
}

/// `GET /v1/logs`'s answer: matching records oldest first, and the newest sequence stored.
public struct LogsPage: Codable, Sendable {
    public var records: [LogLine]
    public var lastSequence: UInt64

    public init(records: [LogLine], lastSequence: UInt64) {
        self.records = records
        self.lastSequence = lastSequence
    }

    enum CodingKeys: String, CodingKey {
        case records
        case lastSequence = "last_sequence"
    }
}
