import Foundation
import GRDB
import GRDBSQLite
import PyreCore

/// Decodes rows of ``SQLiteRows/columns`` straight from the SQLite statement: a replay decodes
/// every event, and going through GRDB `Row`s and `String`s cost more than SQLite's own work.
/// Ids are parsed from the column's bytes, and a stream name or type equal to the previous
/// row's reuses that `String`, so an event costs one allocation (its data) besides SQLite's.
final class RecordedEventCursor: DatabaseCursor {
    typealias Element = RecordedEvent

    let _statement: Statement
    var _isDone = false
    private var stream = ""
    private var type = ""

    init(_ statement: Statement, arguments: StatementArguments) throws {
        _statement = statement
        try statement.setArguments(arguments)
    }

    deinit {
        // As GRDB's own cursors: a statement left mid-way would keep its read snapshot open.
        sqlite3_reset(_statement.sqliteStatement)
    }

    func _element(sqliteStatement: SQLiteStatement) throws -> RecordedEvent {
        let position = sqlite3_column_int64(sqliteStatement, 6)
        stream = Self.text(sqliteStatement, 0, reusing: stream)
        type = Self.text(sqliteStatement, 2, reusing: type)
        guard let id = UUIDText.parse(utf8: Self.bytes(sqliteStatement, 1, text: true)) else {
            let text = String(decoding: Self.bytes(sqliteStatement, 1, text: true), as: UTF8.self)
            throw PyreError(.events, "event at position \(position) has the malformed id '\(text)': "
                + "the database was changed outside Pyre; restore it from a backup")
        }
        let metadata = sqlite3_column_type(sqliteStatement, 4) == SQLITE_NULL
            ? nil : Data(buffer: Self.bytes(sqliteStatement, 4, text: false))
        let microseconds = sqlite3_column_int64(sqliteStatement, 7)
        return RecordedEvent(
            stream: stream, id: id, type: type, data: Data(buffer: Self.bytes(sqliteStatement, 3, text: false)),
            metadata: metadata, version: sqlite3_column_int64(sqliteStatement, 5), position: position,
            recordedAt: Date(timeIntervalSince1970: Double(microseconds) / 1_000_000))
    }

    /// The column's bytes, valid until the next step. SQLite returns no pointer for an empty value.
    private static func bytes(_ statement: SQLiteStatement, _ column: Int32, text: Bool) -> UnsafeBufferPointer<UInt8> {
        let start = text
            ? UnsafeRawPointer(sqlite3_column_text(statement, column))
            : sqlite3_column_blob(statement, column)
        // Asked after the pointer, as SQLite's documentation prescribes.
        let count = Int(sqlite3_column_bytes(statement, column))
        guard let start, count > 0 else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self), count: count)
    }

    /// The column as a String; `previous` itself when the bytes are the same, which saves an
    /// allocation per event for names longer than a small string.
    private static func text(_ statement: SQLiteStatement, _ column: Int32, reusing previous: String) -> String {
        let utf8 = bytes(statement, column, text: true)
        var previous = previous
        let same = previous.withUTF8 { known in
            known.count == utf8.count && (utf8.isEmpty || memcmp(known.baseAddress!, utf8.baseAddress!, utf8.count) == 0)
        }
        return same ? previous : String(decoding: utf8, as: UTF8.self)
    }
}
