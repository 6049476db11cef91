import Foundation
import GRDB
import GRDBSQLite
import PyreCore

/// One append as the group commit queues it, and the SQLite statements that read and write appends.
struct SQLiteAppend: Sendable {
    var stream: String
    var events: [NewEvent]
    var expected: ExpectedVersion
    var now: Date

    /// What the append weighs in a group commit's size limit.
    var byteCount: Int {
        events.reduce(0) { $0 + $1.data.count + ($1.metadata?.count ?? 0) }
    }

    /// A stream's current version, its one argument the stream; NULL when it has no events.
    /// The commit log writer's own connection runs it too (``SQLiteLookups``).
    static let currentVersionSQL = "SELECT max(version) FROM events WHERE stream = ?"

    static func currentVersion(_ db: Database, stream: String) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: currentVersionSQL), arguments: [stream])
    }

    /// The position of the store's last event, nil when it is empty.
    static func lastPosition(_ db: Database) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(position) FROM events"))
    }

    /// Inserts appends that passed their checks, in position order, into the current transaction.
    /// Values are bound with the SQLite C API: GRDB's argument arrays box every value, and the
    /// applier inserts every event.
    static func insert(_ appends: [LoggedAppend], _ db: Database) throws {
        let statement = try db.cachedStatement(sql: """
            INSERT INTO events (position, stream, version, id, type, data, metadata, recorded_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """).sqliteStatement
        for logged in appends {
            for (offset, event) in logged.events.enumerated() {
                defer { sqlite3_reset(statement) }
                sqlite3_bind_int64(statement, 1, logged.firstPosition + Int64(offset))
                sqlite3_bind_text(statement, 2, logged.stream, -1, SQLITE_TRANSIENT)
                sqlite3_bind_int64(statement, 3, logged.firstVersion + Int64(offset))
                sqlite3_bind_text(statement, 4, SQLiteRows.idText(event.id), -1, SQLITE_TRANSIENT)
                sqlite3_bind_text(statement, 5, event.type, -1, SQLITE_TRANSIENT)
                bindBlob(event.data, to: 6, of: statement)
                if let metadata = event.metadata {
                    bindBlob(metadata, to: 7, of: statement)
                } else {
                    sqlite3_bind_null(statement, 7)
                }
                sqlite3_bind_int64(statement, 8, logged.recordedAt)
                let code = sqlite3_step(statement)
                guard code == SQLITE_DONE else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)))
                }
            }
        }
    }

    private static func bindBlob(_ data: Data, to index: Int32, of statement: OpaquePointer?) {
        // A zero-length blob, not NULL: the column is NOT NULL and empty is what was sent.
        data.withUnsafeBytes { bytes in
            _ = sqlite3_bind_blob(statement, index, bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count),
                                  SQLITE_TRANSIENT)
        }
    }
}

/// Tells SQLite to copy a bound value before the call returns (the C macro does not import).
let SQLITE_TRANSIENT = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
