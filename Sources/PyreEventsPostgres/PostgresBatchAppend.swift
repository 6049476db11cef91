import Foundation
import PostgresNIO

/// The common appends of a batch in one prepared SQL statement: one round trip, one commit, no
/// planning per call, and no reads. The client gives every event its position and version from
/// what it knows of the store's end (``PostgresKnownTail``); the statement takes the appends'
/// lock (``PostgresSchema/appendLockKey``) and inserts.
///
/// What the client knew may be out of date (another process appended since). Positions and
/// versions are gap-free and unique, so an out-of-date guess can only collide with a stored
/// row: the unique indexes refuse the whole statement (23505), and the caller takes the batch
/// step by step, reading under the lock. A guess can never be ahead of the store, as the client
/// moves its guess only after a commit. The same index on `id` refuses a client's retry of
/// stored events.
///
/// The lock is held until COMMIT, so batches commit in position order: a reader of $all never
/// sees position n+1 while n is uncommitted, which a sequence (numbers committed in any order)
/// would allow. Before, a counter row gave the positions: its UPDATE and the version lookups
/// cost the server about 0.05 ms of each lone append more than a plain INSERT (pgbench, one
/// client, generic plans: 0.33–0.41 ms per commit against 0.26–0.31; this statement 0.28–0.31).
struct PostgresBatchAppend: PostgresPreparedStatement {
    static let sql = """
        WITH locked AS MATERIALIZED (SELECT pg_advisory_xact_lock($1)::text AS held, clock_timestamp() AS at)
        INSERT INTO events (position, stream, version, id, type, data, metadata, recorded_at)
        SELECT $2 + e.number - 1, e.stream, e.version, e.id, e.type, e.data,
               CASE WHEN e.has_metadata THEN e.metadata END, l.at
        FROM locked l
        CROSS JOIN unnest($3::text[], $4::int8[], $5::uuid[], $6::text[], $7::bytea[], $8::bool[], $9::bytea[])
            WITH ORDINALITY AS e(stream, version, id, type, data, has_metadata, metadata, number)
        """

    typealias Row = ()

    /// The appends, each with its first version; the first one's events start at `firstPosition`
    /// and each append's follow the one before.
    let appends: [(append: PostgresAppend, firstVersion: Int64)]
    let firstPosition: Int64

    func makeBindings() throws -> PostgresBindings {
        var streams: [String] = []
        var versions: [Int64] = []
        for (append, firstVersion) in appends {
            streams += repeatElement(append.stream, count: append.events.count)
            versions += (0..<Int64(append.events.count)).map { firstVersion + $0 }
        }
        let events = appends.flatMap(\.append.events)
        var bindings = PostgresBindings(capacity: 9)
        bindings.append(PostgresSchema.appendLockKey)
        bindings.append(firstPosition)
        bindings.append(streams)
        bindings.append(versions)
        bindings.append(events.map(\.id))
        bindings.append(events.map(\.type))
        bindings.append(events.map { ByteBuffer(data: $0.data) })
        bindings.append(events.map { $0.metadata != nil })
        bindings.append(events.map { ByteBuffer(data: $0.metadata ?? Data()) })
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {}
}
