import Logging
import PostgresNIO
import PyreCore

/// The PostgreSQL event store's schema: numbered migrations, applied in order, each
/// recorded in `pyre_schema_migrations`.
enum PostgresSchema {
    struct Migration {
        var version: Int
        var name: String
        var statements: [PostgresQuery]
    }

    static let migrations: [Migration] = [
        Migration(version: 1, name: "events", statements: [
            // Data and metadata are bytea so a reader gets back the exact bytes the client sent.
            """
            CREATE TABLE events (
                position bigint PRIMARY KEY CHECK (position >= 0),
                stream text NOT NULL,
                version bigint NOT NULL CHECK (version >= 0),
                id uuid NOT NULL UNIQUE,
                type text NOT NULL,
                data bytea NOT NULL,
                metadata bytea,
                recorded_at timestamptz NOT NULL,
                UNIQUE (stream, version)
            )
            """,
            // One row: the next global position. Appends take its row lock (see PostgresAppend).
            """
            CREATE TABLE event_position_counter (
                single boolean PRIMARY KEY DEFAULT true CHECK (single),
                next bigint NOT NULL CHECK (next >= 0)
            )
            """,
            "INSERT INTO event_position_counter (next) VALUES (0)",
        ]),
        Migration(version: 2, name: "snapshots", statements: [
            """
            CREATE TABLE snapshots (
                stream text PRIMARY KEY,
                version bigint NOT NULL CHECK (version >= 0),
                data bytea NOT NULL,
                taken_at timestamptz NOT NULL
            )
            """,
        ]),
        // The common append (no id stored yet, expected version holds) in one round trip; it
        // returns no row for every other case, which PostgresAppend then handles step by step.
        // The same counter lock as the step-by-step path keeps positions gap-free and in commit order.
        Migration(version: 3, name: "append function", statements: [
            """
            CREATE FUNCTION pyre_append(p_stream text, p_expected_kind smallint, p_expected_version bigint,
                                        p_ids uuid[], p_types text[], p_data bytea[], p_has_metadata boolean[],
                                        p_metadata bytea[])
            RETURNS TABLE (first_version bigint, first_position bigint)
            LANGUAGE plpgsql AS $$
            DECLARE
                v_next bigint;
                v_at timestamptz;
                v_actual bigint;
                v_count integer := cardinality(p_ids);
                v_id uuid;
            BEGIN
                SELECT next, clock_timestamp() INTO v_next, v_at FROM event_position_counter FOR UPDATE;
                -- One id at a time: PL/pgSQL caches a generic plan, and for `id = ANY(array)` on a
                -- table that started empty that plan is a sequential scan, slower with every event.
                FOREACH v_id IN ARRAY p_ids LOOP
                    IF EXISTS (SELECT 1 FROM events WHERE id = v_id) THEN RETURN; END IF;
                END LOOP;
                SELECT max(version) INTO v_actual FROM events WHERE stream = p_stream;
                IF (p_expected_kind = 1 AND v_actual IS NOT NULL) OR (p_expected_kind = 2 AND v_actual IS NULL)
                   OR (p_expected_kind = 3 AND v_actual IS DISTINCT FROM p_expected_version) THEN
                    RETURN;
                END IF;
                INSERT INTO events (position, stream, version, id, type, data, metadata, recorded_at)
                SELECT v_next + i - 1, p_stream, coalesce(v_actual, -1) + i, p_ids[i], p_types[i], p_data[i],
                       CASE WHEN p_has_metadata[i] THEN p_metadata[i] END, v_at
                FROM generate_series(1, v_count) AS i;
                UPDATE event_position_counter SET next = v_next + v_count;
                first_version := coalesce(v_actual, -1) + 1;
                first_position := v_next;
                RETURN NEXT;
            END
            $$
            """,
        ]),
        // A whole batch of appends in one statement, so one round trip and one commit: the
        // appends of a batch each called `pyre_append` inside BEGIN … COMMIT before, a round
        // trip apiece. It stops before the first append whose ids are stored already or whose
        // expected version does not hold, and returns a row for each append it wrote;
        // PostgresAppend takes that one step by step, then the rest in another call.
        Migration(version: 4, name: "batch append function", statements: [
            "DROP FUNCTION pyre_append",
            """
            CREATE FUNCTION pyre_append_batch(p_streams text[], p_expected_kinds smallint[], p_expected_versions bigint[],
                                              p_counts integer[], p_ids uuid[], p_types text[], p_data bytea[],
                                              p_has_metadata boolean[], p_metadata bytea[])
            RETURNS TABLE (append_index integer, first_version bigint, first_position bigint)
            LANGUAGE plpgsql AS $$
            DECLARE
                v_next bigint;
                v_at timestamptz;
                v_actual bigint;
                v_first integer := 1;
                v_last integer;
                v_kind smallint;
                v_taken boolean;
            BEGIN
                SELECT next, clock_timestamp() INTO v_next, v_at FROM event_position_counter FOR UPDATE;
                FOR a IN 1 .. cardinality(p_streams) LOOP
                    v_last := v_first + p_counts[a] - 1;
                    v_kind := p_expected_kinds[a];
                    -- One id at a time: PL/pgSQL caches a generic plan, and for `id = ANY(array)`
                    -- on a table that started empty that plan is a sequential scan.
                    v_taken := false;
                    FOR i IN v_first .. v_last LOOP
                        IF EXISTS (SELECT 1 FROM events WHERE id = p_ids[i]) THEN
                            v_taken := true;
                            EXIT;
                        END IF;
                    END LOOP;
                    EXIT WHEN v_taken;
                    SELECT max(version) INTO v_actual FROM events WHERE stream = p_streams[a];
                    EXIT WHEN (v_kind = 1 AND v_actual IS NOT NULL) OR (v_kind = 2 AND v_actual IS NULL)
                        OR (v_kind = 3 AND v_actual IS DISTINCT FROM p_expected_versions[a]);
                    INSERT INTO events (position, stream, version, id, type, data, metadata, recorded_at)
                    SELECT v_next + i - v_first, p_streams[a], coalesce(v_actual, -1) + 1 + i - v_first, p_ids[i],
                           p_types[i], p_data[i], CASE WHEN p_has_metadata[i] THEN p_metadata[i] END, v_at
                    FROM generate_series(v_first, v_last) AS i;
                    append_index := a - 1;
                    first_version := coalesce(v_actual, -1) + 1;
                    first_position := v_next;
                    RETURN NEXT;
                    v_next := v_next + p_counts[a];
                    v_first := v_last + 1;
                END LOOP;
                UPDATE event_position_counter SET next = v_next;
            END
            $$
            """,
        ]),
        // Batches are one prepared SQL statement now (PostgresBatchAppend), which the server
        // runs in a quarter to a half of the function's time.
        Migration(version: 5, name: "batch append statement", statements: [
            "DROP FUNCTION pyre_append_batch",
        ]),
        // Appends take an advisory lock (appendLockKey) and place events by what the store
        // knows of the end; a counter row's update cost each lone append a fifth of its time.
        Migration(version: 6, name: "positions without a counter", statements: [
            "DROP TABLE event_position_counter",
        ]),
    ]

    /// Serializes migrations of one database across processes: "pyreevts" in ASCII.
    static let advisoryLockKey: Int64 = 0x7079_7265_6576_7473
    /// Serializes appends, held from before an append's first write to its COMMIT: "pyreappd".
    static let appendLockKey: Int64 = 0x7079_7265_6170_7064

    /// Brings the database to the newest schema in one transaction, under an advisory lock so
    /// that two agents starting together do not both migrate; refuses a newer schema.
    static func migrate(_ connection: PostgresConnection, database: String, logger: Logger) async throws {
        try await PostgresTransaction.run(on: connection, logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(advisoryLockKey))", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS pyre_schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, logger: logger)
            let applied = try await PostgresRows.first(connection.query(
                "SELECT coalesce(max(version), 0) FROM pyre_schema_migrations", logger: logger
            ).decode(Int.self)) ?? 0
            let newest = migrations.last?.version ?? 0
            if applied > newest {
                throw PyreError(.events, "the event store database '\(database)' has schema version \(applied), "
                    + "written by a newer Pyre (this one knows up to \(newest)): upgrade Pyre before opening it")
            }
            for migration in migrations where migration.version > applied {
                for statement in migration.statements {
                    try await connection.query(statement, logger: logger)
                }
                try await connection.query("""
                    INSERT INTO pyre_schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))
                    """, logger: logger)
                logger.info("event store schema migrated", metadata: [
                    "database": "\(database)", "version": "\(migration.version)", "migration": "\(migration.name)",
                ])
            }
        }
    }
}
