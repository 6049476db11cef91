import Foundation
import GRDB
import GRDBSQLite
import PyreCore

/// Decodes rows of ``SQLiteRows/columns`` straight from the SQLite statement: a replay decodes
/// every event, and going through GRDB `Row`s, `String`s and its generic cursors cost more than
/// SQLite's own work. Ids are parsed from the column's bytes, and a stream name or type equal to
/// the previous row's reuses that `String`. The data and metadata of all rows are copied into
/// one buffer that every event's `Data` is a slice of, so an event costs no allocation of its
/// own; an event kept after the others keeps that buffer (one page of events' data) alive.
struct RecordedEventDecoder {
    /// Nil when the rows name their stream; otherwise the stream every row belongs to.
    private let knownStream: String?
    private var stream = ""
    private var type = ""
    /// Every row's data and metadata, back to back. A plain `malloc`ed buffer rather than `Data`:
    /// `Data.append` checks exclusive access and uniqueness on each call, which cost more than
    /// the copy itself.
    private var payload = PayloadBuffer()
    /// Each row's event without its data and metadata, and where those lie in `payload`: the
    /// events are made once every row is copied, when the buffer no longer moves.
    private var rows: [DecodedRow] = []

    private struct DecodedRow {
        var event: RecordedEvent
        var data: Range<Int>
        var metadata: Range<Int>?
    }

    init(stream: String?) {
        knownStream = stream
    }

    /// Steps `statement` (arguments already set) to its end, appending each row's event to `events`.
    mutating func decodeAll(_ statement: Statement, into events: inout [RecordedEvent]) throws {
        // Frees what rows before a failure copied; after success, the buffer is already empty.
        defer { _ = payload.take() }
        rows.reserveCapacity(events.capacity - events.count)
        try SQLiteRows.eachRow(statement) { rows.append(try decode($0)) }
        let payload = self.payload.take()
        for row in rows {
            var event = row.event
            event.data = payload[row.data]
            event.metadata = row.metadata.map { payload[$0] }
            events.append(event)
        }
        rows.removeAll()
    }

    private mutating func decode(_ sqliteStatement: SQLiteStatement) throws -> DecodedRow {
        let position = sqlite3_column_int64(sqliteStatement, 6)
        stream = knownStream ?? Self.text(sqliteStatement, 0, reusing: stream)
        type = Self.text(sqliteStatement, 2, reusing: type)
        let idText = SQLiteRows.bytes(sqliteStatement, 1, text: true)
        guard let id = UUIDText.parse(utf8: idText) else { throw SQLiteRows.malformedID(idText, position: position) }
        let data = payload.append(SQLiteRows.bytes(sqliteStatement, 3, text: false))
        let metadata = sqlite3_column_type(sqliteStatement, 4) == SQLITE_NULL
            ? nil : payload.append(SQLiteRows.bytes(sqliteStatement, 4, text: false))
        let microseconds = sqlite3_column_int64(sqliteStatement, 7)
        let event = RecordedEvent(
            stream: stream, id: id, type: type, data: Data(), metadata: nil,
            version: sqlite3_column_int64(sqliteStatement, 5), position: position,
            recordedAt: SQLiteRows.date(microseconds: microseconds))
        return DecodedRow(event: event, data: data, metadata: metadata)
    }

    /// The column as a String; `previous` itself when the bytes are the same, which saves an
    /// allocation per event for names longer than a small string.
    private static func text(_ statement: SQLiteStatement, _ column: Int32, reusing previous: String) -> String {
        let utf8 = SQLiteRows.bytes(statement, column, text: true)
        var previous = previous
        let same = previous.withUTF8 { known in
            known.count == utf8.count && (utf8.isEmpty || memcmp(known.baseAddress!, utf8.baseAddress!, utf8.count) == 0)
        }
        return same ? previous : String(decoding: utf8, as: UTF8.self)
    }
}

/// A growable byte buffer that hands its memory over to a `Data` without copying.
private struct PayloadBuffer {
    private var start: UnsafeMutableRawPointer?
    private var count = 0
    private var capacity = 0

    /// Appends `bytes`; returns where they are.
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) -> Range<Int> {
        let offset = count
        guard let source = bytes.baseAddress else { return offset..<offset }
        if count + bytes.count > capacity { grow(toHold: count + bytes.count) }
        (start! + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
        return offset..<count
    }

    /// The bytes appended so far, as a `Data` that frees them; the buffer starts empty again.
    mutating func take() -> Data {
        defer { (start, count, capacity) = (nil, 0, 0) }
        guard let start, count > 0 else {
            free(start)
            return Data()
        }
        return Data(bytesNoCopy: start, count: count, deallocator: .free)
    }

    private mutating func grow(toHold needed: Int) {
        capacity = max(needed, capacity * 2, 16_384)
        guard let grown = realloc(start, capacity) else { fatalError("out of memory for \(capacity) bytes of events") }
        start = grown
    }
}
