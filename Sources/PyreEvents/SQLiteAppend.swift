import Foundation
import GRDB
import PyreCore

/// One append as the group commit queues it, and the SQLite lookups its checks need.
struct SQLiteAppend: Sendable {
    var stream: String
    var events: [NewEvent]
    var expected: ExpectedVersion
    var now: Date

    /// What the append weighs in a group commit's size limit.
    var byteCount: Int {
        events.reduce(0) { $0 + $1.data.count + ($1.metadata?.count ?? 0) }
    }

    static func currentVersion(_ db: Database, stream: String) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(version) FROM events WHERE stream = ?"),
                           arguments: [stream])
    }

    static func storedPlace(_ db: Database, id: UUID) throws -> StoredPlace? {
        let statement = try db.cachedStatement(sql: "SELECT stream, version, position FROM events WHERE id = ?")
        return try Row.fetchOne(statement, arguments: [SQLiteRows.idText(id)]).map {
            StoredPlace(stream: $0[0], version: $0[1], position: $0[2])
        }
    }

    /// Inserts appends that passed their checks, in position order, into the current transaction.
    static func insert(_ appends: [LoggedAppend], _ db: Database) throws {
        let insert = try db.cachedStatement(sql: """
            INSERT INTO events (position, stream, version, id, type, data, metadata, recorded_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        for logged in appends {
            for (offset, event) in logged.events.enumerated() {
                try insert.execute(arguments: [
                    logged.firstPosition + Int64(offset), logged.stream, logged.firstVersion + Int64(offset),
                    SQLiteRows.idText(event.id), event.type, event.data, event.metadata, logged.recordedAt,
                ])
            }
        }
    }
}
