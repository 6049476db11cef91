import Foundation
import GRDB
import PyreCore

/// Conversions between Swift values and the columns of the `events` table.
enum SQLiteRows {
    /// The columns every read selects, in the order ``RecordedEventDecoder`` expects.
    static let columns = "stream, id, type, data, metadata, version, position, recorded_at"
    /// ``columns`` for a read of one stream, whose name the reader knows: SQLite then extracts
    /// no stream column from each row.
    static let columnsOfKnownStream = "NULL, id, type, data, metadata, version, position, recorded_at"

    static func idText(_ id: UUID) -> String { UUIDText.format(id) }

    static func microseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    /// Runs `sql`, which selects ``columns``, or ``columnsOfKnownStream`` when `stream` is given.
    static func recordedEvents(_ db: Database, sql: String, arguments: StatementArguments,
                               limit: Int, stream: String? = nil) throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        // A page is usually full; reserving spares the array's regrowth copies (bounded, as limits may be huge).
        events.reserveCapacity(min(limit, 4_096))
        let statement = try db.cachedStatement(sql: sql)
        try statement.setArguments(arguments)
        var decoder = RecordedEventDecoder(stream: stream)
        try decoder.decodeAll(statement, into: &events)
        return events
    }
}
