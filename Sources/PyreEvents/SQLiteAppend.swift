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
        if let index = stored.firstIndex(where: { $0 != nil }), let place = stored[index] {
            return try repeatedAppend(db, stored: stored, firstStored: (events[index], place))
        }
        let actual = try SQLiteAppend.currentVersion(db, stream: stream)
        guard expected.isSatisfied(by: actual) else {
            throw WrongExpectedVersion(stream: stream, expected: expected, actual: actual)
        }
        let firstVersion = (actual ?? -1) + 1
        let lastPosition = try Int64.fetchOne(db, sql: "SELECT max(position) FROM events")
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

    private struct StoredPlace: Equatable {
        var stream: String
        var version: Int64
        var position: Int64
    }

    private func storedPlace(_ db: Database, id: UUID) throws -> StoredPlace? {
        let statement = try db.cachedStatement(sql: "SELECT stream, version, position FROM events WHERE id = ?")
        return try Row.fetchOne(statement, arguments: [SQLiteRows.idText(id)]).map {
            StoredPlace(stream: $0[0], version: $0[1], position: $0[2])
        }
    }

    /// Some ids are already stored: a retry of an earlier append is answered with that
    /// append's result; anything else is refused.
    private func repeatedAppend(_ db: Database, stored: [StoredPlace?],
                                firstStored: (event: NewEvent, place: StoredPlace)) throws -> AppendResult {
        let places = stored.compactMap { $0 }
        guard places.count == events.count, let first = places.first, let last = places.last,
              places.allSatisfy({ $0.stream == stream }),
              places.enumerated().allSatisfy({ $0.element.version == first.version + Int64($0.offset) })
        else {
            let (event, place) = firstStored
            throw PyreError(.events, "event \(event.id) is already stored in stream '\(place.stream)' "
                + "at version \(place.version), so this append to '\(stream)' is not a retry of it: "
                + "give new events new ids, or retry the original append exactly")
        }
        let versionBefore: Int64? = first.version == 0 ? nil : first.version - 1
        guard expected.isSatisfied(by: versionBefore) else {
            let actual = try SQLiteAppend.currentVersion(db, stream: stream)
            throw WrongExpectedVersion(stream: stream, expected: expected, actual: actual)
        }
        return AppendResult(firstVersion: first.version, lastVersion: last.version,
                            firstPosition: first.position, lastPosition: last.position)
    }
}
