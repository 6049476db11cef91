import GRDB
import PyreCore

/// The SQLite event store's schema, created and upgraded by GRDB's migrator.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-events") { db in
            // `position` is the rowid: appends assign max + 1 under the single write lock,
            // so positions are gap-free in commit order. Ids are lowercase UUID text and
            // `recorded_at` is microseconds since 1970, as PostgreSQL stores them.
            try db.execute(sql: """
                CREATE TABLE events (
                    position INTEGER PRIMARY KEY CHECK (position >= 0),
                    stream TEXT NOT NULL,
                    version INTEGER NOT NULL CHECK (version >= 0),
                    id TEXT NOT NULL UNIQUE,
                    type TEXT NOT NULL,
                    data BLOB NOT NULL,
                    metadata BLOB,
                    recorded_at INTEGER NOT NULL,
                    UNIQUE (stream, version)
                ) STRICT
                """)
        }
        migrator.registerMigration("v2-snapshots") { db in
            try db.execute(sql: """
                CREATE TABLE snapshots (
                    stream TEXT PRIMARY KEY,
                    version INTEGER NOT NULL CHECK (version >= 0),
                    data BLOB NOT NULL,
                    taken_at INTEGER NOT NULL
                ) STRICT
                """)
        }
        return migrator
    }

    /// Brings the database to the current schema, refusing one written by a newer Pyre.
    static func migrate(_ database: some DatabaseWriter, path: String) throws {
        let migrator = migrator
        let superseded = try database.read { db in try migrator.hasBeenSuperseded(db) }
        if superseded {
            throw PyreError(.events, "the event store at \(path) was written by a newer Pyre: "
                + "upgrade Pyre before opening it")
        }
        try migrator.migrate(database)
    }
}
