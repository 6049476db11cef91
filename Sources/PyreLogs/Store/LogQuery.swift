import PyreCore

/// What `pyre logs` and `GET /v1/logs` ask for. Every filter is optional; times are
/// microseconds since 1970 of when the store received the record.
public struct LogQuery: Sendable, Equatable {
    public enum Order: Sendable, Equatable {
        /// The last `limit` matches, returned oldest first (what a terminal shows).
        case newest
        /// The first `limit` matches after ``afterSequence`` (following, paging forward).
        case oldest
    }

    public var since: Int64?
    public var until: Int64?
    /// Records of this service; a syslog record Pyre could not attribute matches its APP-NAME.
    public var service: String?
    public var server: String?
    public var generation: Int?
    /// This severity and the more severe ones.
    public var severity: SyslogSeverity?
    /// A POSIX extended regular expression (as `grep -E`) the message must match.
    public var grep: String?
    /// Only records with a larger sequence number.
    public var afterSequence: UInt64?
    public var limit: Int
    public var order: Order

    public init(since: Int64? = nil, until: Int64? = nil, service: String? = nil, server: String? = nil,
                generation: Int? = nil, severity: SyslogSeverity? = nil, grep: String? = nil,
                afterSequence: UInt64? = nil, limit: Int = 100, order: Order = .newest) {
        self.since = since
        self.until = until
        self.service = service
        self.server = server
        self.generation = generation
        self.severity = severity
        self.grep = grep
        self.afterSequence = afterSequence
        self.limit = limit
        self.order = order
    }
}

/// One query compiled for scanning records in place. Not shareable between threads: the
/// regex matcher keeps a scratch buffer.
struct LogRecordFilter {
    private let query: LogQuery
    private let service: [UInt8]?
    private let server: [UInt8]?
    private let matcher: MessageMatcher?

    init(_ query: LogQuery) throws {
        self.query = query
        service = query.service.map { Array($0.utf8) }
        server = query.server.map { Array($0.utf8) }
        matcher = try query.grep.map(MessageMatcher.init)
    }

    func matches(_ record: LogRecordView) -> Bool {
        if let after = query.afterSequence, record.sequence <= after { return false }
        if let since = query.since, record.receivedAt < since { return false }
        if let until = query.until, record.receivedAt > until { return false }
        if let severity = query.severity, record.severity > severity.rawValue { return false }
        if let generation = query.generation, record.generation != generation { return false }
        if let server, !record.field(1).elementsEqual(server) { return false }
        if let service {
            let recordService = record.field(0)
            if recordService.isEmpty ? !record.field(3).elementsEqual(service) : !recordService.elementsEqual(service) {
                return false
            }
        }
        if let matcher, !matcher.matches(record.field(8)) { return false }
        return true
    }
}
