import Foundation
import GRDB
import GRDBSQLite
import PyreCore

/// Conversions between Swift values and the columns of the `events` table.
enum SQLiteRows {
    /// The columns every read selects, in the order ``RecordedEventDecoder`` and
    /// ``visitStored(_:sql:arguments:stream:)`` expect.
    static let columns = "stream, id, type, data, metadata, version, position, recorded_at"
    /// ``columns`` for a read of one stream, whose name the reader knows: SQLite then extracts
    /// no stream column from each row.
    static let columnsOfKnownStream = "NULL, id, type, data, metadata, version, position, recorded_at"

    static func idText(_ id: UUID) -> String { UUIDText.format(id) }

    static func microseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    static func date(microseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)
    }

    /// Runs `sql`, which selects ``columns``, or ``columnsOfKnownStream`` when `stream` is given.
    static func recordedEvents(_ db: Database, sql: String, arguments: StatementArguments,
                               limit: Int, stream: String? = nil) throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        // A page is usually full; reserving spares the array's regrowth copies (bounded, as limits may be huge).
        events.reserveCapacity(min(limit, 4_096))
        var decoder = RecordedEventDecoder(stream: stream)
        try decoder.decodeAll(try statement(db, sql: sql, arguments: arguments), into: &events)
        return events
    }

    /// Runs `sql` as ``recordedEvents(_:sql:arguments:limit:stream:)`` does, lending each row's
    /// columns to a visitor instead of decoding them.
    static func visitStored<Visitor: StoredEventVisitor>(_ db: Database, sql: String, arguments: StatementArguments,
                                                         stream: String?) throws -> (Visitor, rows: Int) {
        var visitor = Visitor()
        var rows = 0
        var knownStream = stream ?? ""
        try knownStream.withUTF8 { knownStream in
            try eachRow(try statement(db, sql: sql, arguments: arguments)) { row in
                rows += 1
                let position = sqlite3_column_int64(row, 6)
                let id = bytes(row, 1, text: true)
                // Ids are stored as UUIDText writes them; one written otherwise is written again.
                var rewritten: UUIDText.Bytes?
                if !UUIDText.isFormatted(utf8: id) {
                    guard let parsed = UUIDText.parse(utf8: id) else { throw malformedID(id, position: position) }
                    rewritten = UUIDText.bytes(parsed)
                }
                func visit(id: UnsafeRawBufferPointer) {
                    let metadata = sqlite3_column_type(row, 4) == SQLITE_NULL ? nil : bytes(row, 4, text: false)
                    visitor.visit(StoredEventFields(
                        stream: UnsafeRawBufferPointer(stream == nil ? bytes(row, 0, text: true) : knownStream), id: id,
                        type: UnsafeRawBufferPointer(bytes(row, 2, text: true)),
                        data: UnsafeRawBufferPointer(bytes(row, 3, text: false)), metadata: metadata.map { UnsafeRawBufferPointer($0) },
                        version: sqlite3_column_int64(row, 5), position: position,
                        recordedAt: date(microseconds: sqlite3_column_int64(row, 7))))
                }
                if rewritten == nil {
                    visit(id: UnsafeRawBufferPointer(id))
                } else {
                    withUnsafeBytes(of: &rewritten!) { visit(id: $0) }
                }
            }
        }
        return (visitor, rows)
    }

    /// Steps `statement` (arguments already set) to its end, calling `row` on each row. The
    /// statement is reset afterwards, so it holds no read snapshot open.
    static func eachRow(_ statement: Statement, _ row: (SQLiteStatement) throws -> Void) throws {
        let sqliteStatement = statement.sqliteStatement
        defer { sqlite3_reset(sqliteStatement) }
        while true {
            switch sqlite3_step(sqliteStatement) {
            case SQLITE_ROW:
                try row(sqliteStatement)
            case SQLITE_DONE:
                return
            case let code:
                let message = sqlite3_errmsg(sqlite3_db_handle(sqliteStatement)).map { String(cString: $0) }
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
            }
        }
    }

    /// The column's bytes, valid until the next step. SQLite returns no pointer for an empty value.
    static func bytes(_ statement: SQLiteStatement, _ column: Int32, text: Bool) -> UnsafeBufferPointer<UInt8> {
        let start = text
            ? UnsafeRawPointer(sqlite3_column_text(statement, column))
            : sqlite3_column_blob(statement, column)
        // Asked after the pointer, as SQLite's documentation prescribes.
        let count = Int(sqlite3_column_bytes(statement, column))
        guard let start, count > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self), count: count)
    }

    static func malformedID(_ text: UnsafeBufferPointer<UInt8>, position: Int64) -> PyreError {
        PyreError(.events, "event at position \(position) has the malformed id '\(String(decoding: text, as: UTF8.self))': "
            + "the database was changed outside Pyre; restore it from a backup")
    }

    private static func statement(_ db: Database, sql: String, arguments: StatementArguments) throws -> Statement {
        let statement = try db.cachedStatement(sql: sql)
        try statement.setArguments(arguments)
        return statement
    }
}
