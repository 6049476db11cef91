import Foundation
import GRDB
import PyreCore

/// Conversions between Swift values and the columns of the `events` table.
enum SQLiteRows {
    /// The columns every read selects, in the order ``recordedEvent(_:)`` expects.
    static let columns = "stream, id, type, data, metadata, version, position, recorded_at"

    static func idText(_ id: UUID) -> String { UUIDText.format(id) }

    static func microseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    static func recordedEvent(_ row: Row) throws -> RecordedEvent {
        let idText: String = row[1]
        guard let id = UUIDText.parse(idText) else {
            throw PyreError(.events, "event at position \(row[6] as Int64) has the malformed id '\(idText)': "
                + "the database was changed outside Pyre; restore it from a backup")
        }
        let microseconds: Int64 = row[7]
        return RecordedEvent(
            stream: row[0], id: id, type: row[2], data: row[3], metadata: row[4],
            version: row[5], position: row[6],
            recordedAt: Date(timeIntervalSince1970: Double(microseconds) / 1_000_000))
    }

    static func recordedEvents(_ db: Database, sql: String, arguments: StatementArguments) throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: arguments)
        while let row = try rows.next() {
            events.append(try recordedEvent(row))
        }
        return events
    }
}
