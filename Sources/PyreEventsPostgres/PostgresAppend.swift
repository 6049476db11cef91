import Foundation
import Logging
import PostgresNIO
import PyreCore
import PyreEvents

/// One append: the same steps and answers as SQLite's append. Appends are committed in
/// batches (``runBatch(_:on:logger:)``), as SQLite's group commit does.
struct PostgresAppend: Sendable {
    var stream: String
    var events: [NewEvent]
    var expected: ExpectedVersion

    /// Rows per INSERT: 8 parameters each, well under the protocol's limit of 65,535.
    static let rowsPerInsert = 1_000

    /// The event data, which bounds how many appends one batch takes.
    var byteCount: Int {
        events.reduce(0) { $0 + $1.data.count + ($1.metadata?.count ?? 0) }
    }

    /// Runs `appends` in order and answers each: with its result, or with its own error when
    /// its expected version does not hold (it then wrote nothing). The common appends go in
    /// one statement (``PostgresBatchAppend``, its own transaction), which stops before an
    /// append whose expected version does not hold; that one goes step by step in a
    /// transaction of its own, then the rest in another statement. A statement refused by a
    /// unique index (a retry of stored events, or another process's batch committed in
    /// between) is taken step by step whole. So each append is judged against the store as the
    /// appends before it left it. A database error fails every append not yet answered; none
    /// of the failed statement's writes is stored.
    ///
    /// Positions come from one counter row, locked first. The lock is held until COMMIT, so
    /// batches run one at a time and commit in position order: a reader of $all can never see
    /// position n+1 while n is still uncommitted, which a sequence (handing out numbers that
    /// commit in any order) would allow. The counter only moves in the transaction that
    /// inserts, so positions stay gap-free.
    static func runBatch(_ appends: [PostgresAppend], on connection: PostgresConnection,
                         logger: Logger) async throws -> [Result<AppendResult, any Error>] {
        var results: [Result<AppendResult, any Error>] = []
        var stepByStep = false
        while results.count < appends.count {
            if !stepByStep {
                do {
                    results += try await appendInOneStatement(appends[results.count...], on: connection, logger: logger)
                } catch where PostgresFailure.sqlState(of: error) == uniqueViolation {
                    stepByStep = true
                }
                guard results.count < appends.count else { break }
            }
            let append = appends[results.count]
            do {
                results.append(.success(try await PostgresTransaction.run(on: connection, logger: logger) { connection in
                    try await append.appendStepByStep(on: connection, logger: logger)
                }))
            } catch let error as WrongExpectedVersion {
                results.append(.failure(error))
            } catch let error as PyreError {
                // Pyre's own refusals (an id stored elsewhere, say) come before any write.
                results.append(.failure(error))
            }
        }
        return results
    }

    static let uniqueViolation = "23505"

    /// The leading appends of `appends` that ``PostgresBatchAppend`` wrote; it stops at the
    /// first whose expected version does not hold.
    private static func appendInOneStatement(_ appends: ArraySlice<PostgresAppend>, on connection: PostgresConnection,
                                             logger: Logger) async throws -> [Result<AppendResult, any Error>] {
        var results: [Result<AppendResult, any Error>] = []
        for try await (index, firstVersion, firstPosition) in try await connection.execute(
            PostgresBatchAppend(appends: appends), logger: logger) {
            guard Int(index) == results.count else {
                throw PyreError(.events, "the event store's batch append answered out of order: the database "
                    + "was changed outside Pyre")
            }
            let count = Int64(appends[appends.startIndex + Int(index)].events.count)
            results.append(.success(AppendResult(firstVersion: firstVersion, lastVersion: firstVersion + count - 1,
                                                 firstPosition: firstPosition, lastPosition: firstPosition + count - 1)))
        }
        return results
    }

    /// The cases the batch statement leaves: a retry of events already stored, an expected
    /// version that does not hold, appends another process committed while the statement
    /// read. Runs inside a transaction of its own, reading only after it holds the lock.
    private func appendStepByStep(on connection: PostgresConnection, logger: Logger) async throws -> AppendResult {
        let locked = try await PostgresRows.first(connection.query(
            "SELECT next, clock_timestamp() FROM event_position_counter FOR UPDATE", logger: logger
        ).decode((Int64, Date).self))
        guard let (position, recordedAt) = locked else {
            throw PyreError(.events, "the event store's position counter row is missing: the database was "
                + "changed outside Pyre; restore it from a backup")
        }
        let (result, written) = try await write(on: connection, position: position, recordedAt: recordedAt, logger: logger)
        if written > 0 {
            try await connection.query("UPDATE event_position_counter SET next = \(position + written)", logger: logger)
        }
        return result
    }

    /// Checks and inserts this append's events at `position`; returns its answer and how
    /// many positions it took (none for a retry of an append already stored).
    private func write(on connection: PostgresConnection, position: Int64, recordedAt: Date,
                       logger: Logger) async throws -> (AppendResult, Int64) {
        let stored = try await storedPlaces(connection, logger: logger)
        switch try AppendRetry.outcome(stream: stream, events: events, expected: expected, stored: stored) {
        case .original(let result):
            return (result, 0)
        case .expectationNeverHeld:
            let actual = try await Self.currentVersion(connection, stream: stream, logger: logger)
            throw WrongExpectedVersion(stream: stream, expected: expected, actual: actual)
        case nil:
            break
        }
        let actual = try await Self.currentVersion(connection, stream: stream, logger: logger)
        guard expected.isSatisfied(by: actual) else {
            throw WrongExpectedVersion(stream: stream, expected: expected, actual: actual)
        }
        let firstVersion = (actual ?? -1) + 1
        var offset = 0
        while offset < events.count {
            let rows = min(Self.rowsPerInsert, events.count - offset)
            try await insert(connection, offset: offset, count: rows, firstVersion: firstVersion,
                             firstPosition: position, recordedAt: recordedAt, logger: logger)
            offset += rows
        }
        let count = Int64(events.count)
        return (AppendResult(firstVersion: firstVersion, lastVersion: firstVersion + count - 1,
                             firstPosition: position, lastPosition: position + count - 1), count)
    }

    static func currentVersion(_ connection: PostgresConnection, stream: String, logger: Logger) async throws -> Int64? {
        try await PostgresRows.first(connection.query(
            "SELECT max(version) FROM events WHERE stream = \(stream)", logger: logger
        ).decode(Int64?.self)) ?? nil
    }

    /// Where each event's id is already stored, in the order of `events`.
    private func storedPlaces(_ connection: PostgresConnection, logger: Logger) async throws -> [StoredPlace?] {
        var places: [UUID: StoredPlace] = [:]
        for try await (id, stream, version, position) in try await connection.query(
            "SELECT id, stream, version, position FROM events WHERE id = ANY(\(events.map(\.id)))", logger: logger
        ).decode((UUID, String, Int64, Int64).self) {
            places[id] = StoredPlace(stream: stream, version: version, position: position)
        }
        return events.map { places[$0.id] }
    }

    private func insert(_ connection: PostgresConnection, offset: Int, count: Int, firstVersion: Int64,
                        firstPosition: Int64, recordedAt: Date, logger: Logger) async throws {
        var bindings = PostgresBindings(capacity: count * 7)
        var rows: [String] = []
        for index in offset..<(offset + count) {
            let event = events[index]
            let first = bindings.count + 1
            bindings.append(firstPosition + Int64(index))
            bindings.append(stream)
            bindings.append(firstVersion + Int64(index))
            bindings.append(event.id)
            bindings.append(event.type)
            try bindings.append(event.data)
            try bindings.append(event.metadata)
            bindings.append(recordedAt)
            rows.append("(" + (first..<(first + 8)).map { "$\($0)" }.joined(separator: ", ") + ")")
        }
        let sql = "INSERT INTO events (position, stream, version, id, type, data, metadata, recorded_at) VALUES "
            + rows.joined(separator: ", ")
        try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger)
    }
}
