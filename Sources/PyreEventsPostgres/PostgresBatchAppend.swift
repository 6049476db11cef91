import Foundation
import PostgresNIO

/// The common appends of a batch (expected versions that hold, ids not yet stored) in one
/// prepared SQL statement: one round trip, one commit, no planning per call.
///
/// It writes the appends in order up to, not including, the first whose expected version
/// does not hold, judging each against the stored version plus the appends before it in the
/// batch, and returns a row for each it wrote. It checks no ids: the unique index on `id`
/// refuses a batch that holds a stored id (a client's retry), and the caller then takes the
/// batch step by step. That keeps the common path to one index lookup per stream.
///
/// The counter row's UPDATE takes its lock and moves it by the number of events written, so
/// batches commit in position order with no gaps. Its versions come from the statement's
/// snapshot, taken before the lock: another process's batch committed in between makes this
/// one collide with its (`stream`, `version`) and fail with a unique violation, never write
/// a wrong version; the caller then goes step by step, under the lock.
///
/// A PL/pgSQL function doing the same (`pyre_append_batch`, migration 4) took 0.49 ms of the
/// server for one append and 1.37 ms for eight; this statement 0.13 and 0.56 ms (pgbench).
struct PostgresBatchAppend: PostgresPreparedStatement {
    static let sql = """
        WITH appends AS (
            SELECT a.number, a.stream, a.kind, a.expected, a.count, a.events_before,
                   coalesce((SELECT max(e.version) FROM events e WHERE e.stream = a.stream), -1)
                       + a.earlier_in_stream AS actual
            FROM unnest($1::text[], $2::int2[], $3::int8[], $4::int4[], $5::int8[], $6::int8[])
                WITH ORDINALITY AS a(stream, kind, expected, count, events_before, earlier_in_stream, number)
        ), written AS (
            SELECT * FROM appends WHERE number < coalesce((
                SELECT min(number) FROM appends
                WHERE NOT (kind = 0 OR (kind = 1 AND actual = -1) OR (kind = 2 AND actual >= 0)
                           OR (kind = 3 AND actual = expected))), 9223372036854775807)
        ), counter AS (
            UPDATE event_position_counter SET next = next + (SELECT sum(count) FROM written)
            WHERE EXISTS (SELECT 1 FROM written)
            RETURNING next - (SELECT sum(count) FROM written) AS first_position, clock_timestamp() AS at
        ), inserted AS (
            INSERT INTO events (position, stream, version, id, type, data, metadata, recorded_at)
            SELECT c.first_position + e.number - 1, w.stream, w.actual + e.number - w.events_before, e.id, e.type,
                   e.data, CASE WHEN e.has_metadata THEN e.metadata END, c.at
            FROM counter c CROSS JOIN written w
            JOIN unnest($7::uuid[], $8::text[], $9::bytea[], $10::bool[], $11::bytea[], $12::int8[])
                WITH ORDINALITY AS e(id, type, data, has_metadata, metadata, append_number, number)
                ON e.append_number = w.number
        )
        SELECT (w.number - 1)::int4, w.actual + 1, c.first_position + w.events_before
        FROM written w CROSS JOIN counter c ORDER BY w.number
        """

    typealias Row = (Int32, Int64, Int64)

    let appends: ArraySlice<PostgresAppend>

    func makeBindings() throws -> PostgresBindings {
        let expectations: [(Int16, Int64)] = appends.map { append in
            switch append.expected {
            case .any: (0, 0)
            case .noStream: (1, 0)
            case .streamExists: (2, 0)
            case .exact(let version): (3, version)
            }
        }
        // Where each append's events start in the batch, and how many events earlier appends
        // of the batch add to its stream: sums the statement would otherwise take with window
        // functions, two sorts per call.
        var eventsBefore: [Int64] = []
        var earlierInStream: [Int64] = []
        var inStream: [String: Int64] = [:]
        var total: Int64 = 0
        for append in appends {
            eventsBefore.append(total)
            earlierInStream.append(inStream[append.stream, default: 0])
            inStream[append.stream, default: 0] += Int64(append.events.count)
            total += Int64(append.events.count)
        }
        let events = appends.flatMap(\.events)
        var bindings = PostgresBindings(capacity: 12)
        bindings.append(appends.map(\.stream))
        bindings.append(expectations.map(\.0))
        bindings.append(expectations.map(\.1))
        bindings.append(appends.map { Int32($0.events.count) })
        bindings.append(eventsBefore)
        bindings.append(earlierInStream)
        bindings.append(events.map(\.id))
        bindings.append(events.map(\.type))
        bindings.append(events.map { ByteBuffer(data: $0.data) })
        bindings.append(events.map { $0.metadata != nil })
        bindings.append(events.map { ByteBuffer(data: $0.metadata ?? Data()) })
        bindings.append(appends.indices.flatMap { index in
            repeatElement(Int64(index - appends.startIndex + 1), count: appends[index].events.count)
        })
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        try row.decode(Row.self)
    }
}
