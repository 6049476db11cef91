import Foundation
import GRDB
import PyreCore

/// One append, run inside the writer's IMMEDIATE transaction so the version check,
/// the idempotency check and the inserts see and change the same state.
struct SQLiteAppend {
    var stream: String
    var events: [NewEvent]
    var expected: ExpectedVersion
    var now: Date

    func run(_ db: Database) throws -> AppendResult {
        let stored = try events.map { try storedPlace(db, id: $0.id) }
        switch try AppendRetry.outcome(stream: stream, events: events, expected: expected, stored: stored) {
        case .original(let result):
            return result
        case .expectationNeverHeld:
            let actual = try SQLiteAppend.currentVersion(db, stream: stream)
            throw WrongExpectedVersion(stream: stream, expected: expected, actual: actual)
        case nil:
            break
        }
        let actual = try SQLiteAppend.currentVersion(db, stream: stream)
        guard expected.isSatisfied(by: actual) else {
            throw WrongExpectedVersion(stream: stream, expected: expected, actual: actual)
        }
        let firstVersion = (actual ?? -1) + 1
        let lastPosition = try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(position) FROM events"))
        let firstPosition = (lastPosition ?? -1) + 1
        let insert = try db.cachedStatement(sql: """
            INSERT INTO events (position, stream, version, id, type, data, metadata, recorded_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """)
        let recordedAt = SQLiteRows.microseconds(now)
        for (offset, event) in events.enumerated() {
            try insert.execute(arguments: [
                firstPosition + Int64(offset), stream, firstVersion + Int64(offset),
                SQLiteRows.idText(event.id), event.type, event.data, event.metadata, recordedAt,
            ])
        }
        let count = Int64(events.count)
        return AppendResult(firstVersion: firstVersion, lastVersion: firstVersion + count - 1,
                            firstPosition: firstPosition, lastPosition: firstPosition + count - 1)
    }

    /// What the append weighs in a group commit's size limit.
    var byteCount: Int {
        events.reduce(0) { $0 + $1.data.count + ($1.metadata?.count ?? 0) }
    }

    static func currentVersion(_ db: Database, stream: String) throws -> Int64? {
        try Int64.fetchOne(db.cachedStatement(sql: "SELECT max(version) FROM events WHERE stream = ?"),
                           arguments: [stream])
    }

    private func storedPlace(_ db: Database, id: UUID) throws -> StoredPlace? {
        let statement = try db.cachedStatement(sql: "SELECT stream, version, position FROM events WHERE id = ?")
        return try Row.fetchOne(statement, arguments: [SQLiteRows.idText(id)]).map {
            StoredPlace(stream: $0[0], version: $0[1], position: $0[2])
        }
    }
}
