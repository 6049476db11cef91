import Foundation
import PyreAPI
import PyreCore
import PyreLogs

extension LogLine {
    /// A stored record as the control API returns it.
    init(_ record: LogRecord) {
        let date = { (microseconds: Int64) in Date(timeIntervalSince1970: Double(microseconds) / 1_000_000) }
        let optional = { (text: String) in text.isEmpty ? nil : text }
        self.init(
            sequence: record.sequence, receivedAt: date(record.receivedAt), timestamp: record.timestamp.map(date),
            facility: record.facility.description, severity: record.severity.description, format: record.format.rawValue,
            source: record.source.description, service: optional(record.service), server: optional(record.server),
            generation: record.generation, hostname: optional(record.hostname), appName: optional(record.appName),
            procID: optional(record.procID), msgID: optional(record.msgID), structuredData: optional(record.structuredData),
            message: record.message, parseError: record.parseError, truncated: record.truncated)
    }
}

/// The query parameters of `GET /v1/logs`, read as the CLI's flags are.
enum LogQueryParameters {
    static let maxLimit = 10_000

    static func query(_ parameters: [String: String], now: Date = Date()) throws -> LogQuery {
        var query = LogQuery()
        query.service = parameters["service"].flatMap { $0.isEmpty ? nil : $0 }
        query.server = parameters["server"].flatMap { $0.isEmpty ? nil : $0 }
        query.since = try parameters["since"].map { try time($0, name: "since", now: now) }
        query.until = try parameters["until"].map { try time($0, name: "until", now: now) }
        query.grep = parameters["grep"].flatMap { $0.isEmpty ? nil : $0 }
        if let text = parameters["generation"] {
            guard let generation = Int(text), generation >= 0 else { throw bad("generation must be a number, got '\(text)'") }
            query.generation = generation
        }
        if let text = parameters["severity"] { query.severity = try severity(text) }
        if let text = parameters["after"] {
            guard let after = UInt64(text) else { throw bad("after must be a record's sequence number, got '\(text)'") }
            query.afterSequence = after
            query.order = .oldest
        }
        if let text = parameters["limit"] {
            guard let limit = Int(text), (1...maxLimit).contains(limit) else {
                throw bad("limit must be between 1 and \(maxLimit), got '\(text)'")
            }
            query.limit = limit
        }
        return query
    }

    /// An RFC 3339 time, or a duration before now (`10m`, `2h`, `7d`).
    static func time(_ text: String, name: String, now: Date) throws -> Int64 {
        if let duration = parseDuration(text) {
            return LogRecord.microseconds(now) - duration.components.seconds * 1_000_000
                - duration.components.attoseconds / 1_000_000_000_000
        }
        if let date = (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
            ?? (try? Date.ISO8601FormatStyle().parse(text)) {
            return LogRecord.microseconds(date)
        }
        throw bad("\(name) must be a duration before now (10m, 2h, 7d) or a time such as 2026-11-27T10:00:00Z, got '\(text)'")
    }

    /// A syslog keyword (`warning`), a common alias (`error`, `warn`) or 0–7.
    static func severity(_ text: String) throws -> SyslogSeverity {
        let aliases: [String: SyslogSeverity] = ["error": .err, "warn": .warning, "critical": .crit, "emergency": .emerg,
                                                 "information": .info]
        if let value = UInt8(text), let severity = SyslogSeverity(rawValue: value) { return severity }
        if let severity = SyslogSeverity.allCases.first(where: { $0.description == text.lowercased() }) ?? aliases[text.lowercased()] {
            return severity
        }
        throw bad("severity must be one of \(SyslogSeverity.allCases.map(\.description).joined(separator: ", ")), got '\(text)'")
    }

    private static func bad(_ message: String) -> PyreError { PyreError(.logs, message) }
}
