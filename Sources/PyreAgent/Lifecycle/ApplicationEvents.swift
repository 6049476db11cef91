import Logging
import PyreAPI
import PyreCore
import PyreEvents
import PyreEventsPostgres

/// The applications' event store that `events: store:` names (the agent must restart to
/// change it), and its part in the agent's service group.
enum ApplicationEvents {
    /// Opens SQLite's file, or makes PostgreSQL's pool without connecting yet.
    static func make(_ spec: SystemSpec, state: StateDirectory, logger: Logger) throws -> any EventStore {
        switch spec.events.backend {
        case .sqlite:
            try SQLiteEventStore(path: state.applicationEventsDatabase)
        case .postgres(let url):
            try PostgresEventStore(try postgresConfiguration(url, of: spec), logger: logger)
        }
    }

    /// PostgreSQL connects and migrates its schema at start (a wrong address or password fails
    /// the start with the server's reason) and runs its pool until shutdown; SQLite closes.
    static func service(_ store: any EventStore, ready: Gate) -> StagedService {
        if let postgres = store as? PostgresEventStore {
            StagedService(description: "event store", ready: ready, start: { try await postgres.migrate() },
                          serve: { await postgres.run() })
        } else {
            StagedService(description: "event store", ready: ready, stop: { await (store as? SQLiteEventStore)?.close() })
        }
    }

    /// A URL PyreManifest's reader let through (it does not know PostgreSQL's URL rules) but
    /// that is not one: a manifest error at `events.store`'s line.
    static func postgresConfiguration(_ url: String, of spec: SystemSpec) throws -> PostgresEventStoreConfiguration {
        do {
            return try PostgresEventStoreConfiguration(url: url)
        } catch var error as PyreError {
            error.code = .manifest
            error.location = spec.fieldLocations["events.store"]
            error.field = "events.store"
            throw error
        }
    }
}
