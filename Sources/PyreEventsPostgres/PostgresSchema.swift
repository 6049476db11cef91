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
    ]

    /// Serializes migrations of one database across processes: "pyreevts" in ASCII.
    static let advisoryLockKey: Int64 = 0x7079_7265_6576_7473

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
