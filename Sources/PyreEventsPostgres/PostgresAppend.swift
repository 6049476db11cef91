import Foundation
import Logging
import PostgresNIO
import PyreCore
import PyreEvents

/// One append: the same steps and answers as SQLite's append. Appends are committed in
/// batches (``runBatch(_:on:tail:logger:)``), as SQLite's group commit does.
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
    /// one statement (``PostgresBatchAppend``, its own transaction), placed by what `tail`
    /// knows; it stops before an append whose expected version does not hold by `tail`, and
    /// that one goes step by step in a transaction of its own (which judges it by the store
    /// itself), then the rest in another statement. A statement refused by a unique index (a
    /// retry of stored events, or `tail` out of date) is taken step by step whole. So each
    /// append is judged against the store as the appends before it left it. A database error
    /// fails every append not yet answered; none of the failed statement's writes is stored.
    static func runBatch(_ appends: [PostgresAppend], on connection: PostgresConnection, tail: inout PostgresKnownTail,
                         logger: Logger) async throws -> [Result<AppendResult, any Error>] {
        var results: [Result<AppendResult, any Error>] = []
        var stepByStep = false
        do {
            while results.count < appends.count {
                if !stepByStep {
                    do {
                        results += try await appendInOneStatement(appends[results.count...], on: connection, tail: &tail,
                                                                  logger: logger)
                    } catch where PostgresFailure.sqlState(of: error) == uniqueViolation {
                        stepByStep = true
                    }
                    guard results.count < appends.count else { break }
                }
                let append = appends[results.count]
                // Step by step writes what `tail` did not foresee.
                tail.forget()
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
        } catch {
            // The statement may or may not have committed.
            tail.forget()
            throw error
        }
        return results
    }

    static let uniqueViolation = "23505"

    /// The leading appends of `appends` that ``PostgresBatchAppend`` wrote; it stops at the
    /// first whose expected version does not hold by `tail`, which it moves past what it wrote.
    private static func appendInOneStatement(_ appends: ArraySlice<PostgresAppend>, on connection: PostgresConnection,
                                             tail: inout PostgresKnownTail,
                                             logger: Logger) async throws -> [Result<AppendResult, any Error>] {
        try await tail.learn(appends.map(\.stream), on: connection, logger: logger)
        guard let firstPosition = tail.nextPosition else { return [] }
        var after = tail
        var position = firstPosition
        var placed: [(append: PostgresAppend, firstVersion: Int64)] = []
        var results: [Result<AppendResult, any Error>] = []
        for append in appends {
            let version = after.versions[append.stream] ?? -1
            guard append.expected.isSatisfied(by: version < 0 ? nil : version) else { break }
            let count = Int64(append.events.count)
            placed.append((append, version + 1))
            results.append(.success(AppendResult(firstVersion: version + 1, lastVersion: version + count,
                                                 firstPosition: position, lastPosition: position + count - 1)))
            after.remember(append.stream, version: version + count)
            position += count
        }
        after.nextPosition = position
        guard !placed.isEmpty else { return [] }
        for try await _ in try await connection.execute(
            PostgresBatchAppend(appends: placed, firstPosition: firstPosition), logger: logger) {}
        tail = after
        return results
    }

    /// The cases the batch statement leaves: a retry of events already stored, an expected
    /// version that does not hold, appends another process committed since `tail` was right.
    /// Runs inside a transaction of its own, reading only after it holds the lock.
    private func appendStepByStep(on connection: PostgresConnection, logger: Logger) async throws -> AppendResult {
        try await connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.appendLockKey))", logger: logger)
        let next = try await PostgresRows.first(connection.query(
            "SELECT coalesce(max(position), -1) + 1, clock_timestamp() FROM events", logger: logger
        ).decode((Int64, Date).self))
        guard let (position, recordedAt) = next else {
            throw PyreError(.events, "the event store's last position could not be read: the database was changed outside Pyre")
        }
        return try await write(on: connection, position: position, recordedAt: recordedAt, logger: logger)
    }

    /// Checks and inserts this append's events at `position`; a retry of an append already
    /// stored is answered as it was first.
    private func write(on connection: PostgresConnection, position: Int64, recordedAt: Date,
                       logger: Logger) async throws -> AppendResult {
        let stored = try await storedPlaces(connection, logger: logger)
        switch try AppendRetry.outcome(stream: stream, events: events, expected: expected, stored: stored) {
        case .original(let result):
            return result
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
        return AppendResult(firstVersion: firstVersion, lastVersion: firstVersion + count - 1,
                            firstPosition: position, lastPosition: position + count - 1)
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
