import Foundation
import Logging
import PostgresNIO
import PyreCore
import PyreEvents
import Synchronization

/// The event store on a PostgreSQL database, for agents that share one (or want its backups).
/// Same guarantees and errors as ``SQLiteEventStore``.
///
/// Lifecycle: ``open(_:logger:)`` connects once directly (so a wrong address or password fails
/// at once with the server's reason), migrates the schema, then starts a connection pool and a
/// watcher for other processes' appends in background tasks that the store owns.
/// ``close()`` stops them and closes every connection; call it before dropping the store.
/// While the database is unreachable later on, operations wait for the pool to reconnect and
/// fail with `PyreError(.events, …)` if it cannot.
public final class PostgresEventStore: EventStore {
    public let configuration: PostgresEventStoreConfiguration
    public let appendSignal: AppendSignal
    /// Internal so tests can check the connections' settings.
    let client: PostgresClient
    private let logger: Logger
    private let background = Mutex<BackgroundTasks?>(nil)

    /// The pool's run loop and the append watcher, which queries through the pool.
    private struct BackgroundTasks {
        var pool: Task<Void, Never>
        var watcher: Task<Void, Never>
    }
    /// Concurrent appends share one transaction and one commit, as with SQLite.
    private let appendCommitter: Coalescer<PostgresAppend, AppendResult>

    private init(configuration: PostgresEventStoreConfiguration, client: PostgresClient, logger: Logger) {
        self.configuration = configuration
        self.client = client
        self.logger = logger
        let appendSignal = AppendSignal()
        self.appendSignal = appendSignal
        appendCommitter = Coalescer(limits: .init(requests: 256, weight: 4 << 20)) { appends in
            do {
                let results = try await client.withConnection { connection in
                    try await PostgresAppend.runBatch(appends, on: connection, logger: logger)
                }
                appendSignal.pulse()
                return results
            } catch {
                return appends.map { append in
                    .failure(Self.failure(error, operation: "append to '\(append.stream)'", configuration: configuration,
                                          advice: "the append may or may not be stored; retry it with the same event ids, which is safe"))
                }
            }
        }
    }

    /// Connects, migrates the schema, and starts the store's pool; see the type's lifecycle notes.
    public static func open(_ configuration: PostgresEventStoreConfiguration, logger: Logger) async throws
        -> PostgresEventStore {
        let connections = try PostgresConnectionSettings(configuration)
        do {
            let connection = try await PostgresConnection.connect(
                configuration: connections.connection(), id: 0, logger: logger)
            do {
                try await PostgresSchema.migrate(connection, database: configuration.database, logger: logger)
                try? await connection.close()
            } catch {
                try? await connection.close()
                throw error
            }
        } catch let error as PyreError {
            throw error
        } catch {
            throw PyreError(.events, "cannot open the event store at \(configuration): "
                + "\(PostgresFailure.describe(error)); \(advice(for: error))")
        }
        let client = PostgresClient(configuration: connections.client(), backgroundLogger: logger)
        let store = PostgresEventStore(configuration: configuration, client: client, logger: logger)
        let tasks = BackgroundTasks(pool: Task { await client.run() }, watcher: Task { await store.watchPositions() })
        store.background.withLock { $0 = tasks }
        return store
    }

    /// Stops the pool and the listener and waits until every connection is closed.
    public func close() async {
        let tasks = background.withLock { tasks in
            defer { tasks = nil }
            return tasks
        }
        guard let tasks else { return }
        // The watcher first: a query it started just as the pool shut down could wait forever
        // for a connection, and close() (and a test's end) with it.
        tasks.watcher.cancel()
        await tasks.watcher.value
        tasks.pool.cancel()
        await tasks.pool.value
    }

    public func append(to stream: String, _ events: [NewEvent], expected: ExpectedVersion) async throws -> AppendResult {
        try EventValidation.checkAppend(to: stream, events, expected: expected)
        let append = PostgresAppend(stream: stream, events: events, expected: expected)
        return try await appendCommitter.submit(append, weight: append.byteCount)
    }

    public func read(stream: String, from version: Int64, limit: Int,
                     direction: ReadDirection) async throws -> [RecordedEvent] {
        try EventValidation.checkStreamName(stream)
        try EventValidation.checkRead(from: version, limit: limit, what: "stream '\(stream)'")
        let query: PostgresQuery = switch direction {
        case .forward: """
            SELECT \(unescaped: PostgresRows.columns) FROM events
            WHERE stream = \(stream) AND version >= \(version) ORDER BY version LIMIT \(limit)
            """
        case .backward: """
            SELECT \(unescaped: PostgresRows.columns) FROM events
            WHERE stream = \(stream) AND version <= \(version) ORDER BY version DESC LIMIT \(limit)
            """
        }
        return try await perform("read stream '\(stream)'") {
            try await PostgresRows.recordedEvents(client.query(query, logger: logger))
        }
    }

    public func readAll(from position: Int64, limit: Int) async throws -> [RecordedEvent] {
        try EventValidation.checkRead(from: position, limit: limit, what: StreamNames.all)
        let query: PostgresQuery = """
            SELECT \(unescaped: PostgresRows.columns) FROM events
            WHERE position >= \(position) ORDER BY position LIMIT \(limit)
            """
        return try await perform("read \(StreamNames.all)") {
            try await PostgresRows.recordedEvents(client.query(query, logger: logger))
        }
    }

    public func version(of stream: String) async throws -> Int64? {
        try EventValidation.checkStreamName(stream)
        return try await perform("read the version of '\(stream)'") {
            try await client.withConnection { connection in
                try await PostgresAppend.currentVersion(connection, stream: stream, logger: logger)
            }
        }
    }

    public func lastPosition() async throws -> Int64? {
        try await perform("read the last position") {
            try await PostgresRows.first(
                client.query("SELECT max(position) FROM events", logger: logger).decode(Int64?.self)
            ) ?? nil
        }
    }

    public func saveSnapshot(_ snapshot: Snapshot) async throws {
        try EventValidation.checkSnapshot(snapshot)
        try await perform("save a snapshot of '\(snapshot.stream)'") {
            try await client.withConnection { connection in
                try await PostgresTransaction.run(on: connection, logger: logger) { connection in
                    // Versions only grow, so a check that passes stays true until COMMIT.
                    let current = try await PostgresAppend.currentVersion(connection, stream: snapshot.stream,
                                                                          logger: logger)
                    try EventValidation.checkSnapshot(snapshot, streamVersion: current)
                    try await connection.query("""
                        INSERT INTO snapshots (stream, version, data, taken_at)
                        VALUES (\(snapshot.stream), \(snapshot.version), \(snapshot.data), clock_timestamp())
                        ON CONFLICT (stream) DO UPDATE SET version = excluded.version, data = excluded.data,
                            taken_at = excluded.taken_at
                        WHERE excluded.version >= snapshots.version
                        """, logger: logger)
                }
            }
        }
    }

    public func latestSnapshot(of stream: String) async throws -> Snapshot? {
        try EventValidation.checkStreamName(stream)
        return try await perform("read the snapshot of '\(stream)'") {
            try await PostgresRows.first(
                client.query("SELECT version, data FROM snapshots WHERE stream = \(stream)", logger: logger)
                    .decode((Int64, Data).self)
            ).map { Snapshot(stream: stream, version: $0.0, data: $0.1) }
        }
    }

    /// Pulses ``appendSignal`` when the position counter moves, so subscribers see appends
    /// committed by other processes (other agents on the same database) within
    /// `watchInterval`; local appends pulse it themselves. A poll, not LISTEN/NOTIFY: NOTIFY
    /// takes a database-wide lock at every commit, which halved single-writer appends.
    private func watchPositions() async {
        var last: Int64?
        while !Task.isCancelled {
            do {
                let next = try await PostgresRows.first(
                    client.query("SELECT next FROM event_position_counter", logger: logger).decode(Int64.self))
                if let next, next != last {
                    if last != nil { appendSignal.pulse() }
                    last = next
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("event store: watching for appends failed, retrying in 1 s", metadata: [
                    "store": "\(configuration)", "error": "\(PostgresFailure.describe(error))",
                ])
                try? await Task.sleep(for: .seconds(1))
            }
            try? await Task.sleep(for: Self.watchInterval)
        }
    }

    static let watchInterval = Duration.milliseconds(50)

    /// Runs a database access, turning driver failures into `PyreError`s that name the
    /// operation and the database; the store's own errors pass through unchanged.
    private func perform<T>(_ operation: String, advice: String = "check that PostgreSQL is running and reachable",
                            _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw Self.failure(error, operation: operation, configuration: configuration, advice: advice)
        }
    }

    /// A driver failure as a `PyreError` that names the operation and the database; the
    /// store's own errors unchanged.
    private static func failure(_ error: any Error, operation: String, configuration: PostgresEventStoreConfiguration,
                                advice: String) -> any Error {
        switch error {
        case is PyreError, is WrongExpectedVersion: return error
        // Subscriptions end quietly when cancelled, as with SQLite.
        case _ where Task.isCancelled: return CancellationError()
        default:
            return PyreError(.events, "cannot \(operation) in the event store at \(configuration): "
                + "\(PostgresFailure.describe(error)); \(advice)")
        }
    }

    private static func advice(for error: any Error) -> String {
        switch PostgresFailure.sqlState(of: error) {
        case "28P01", "28000": "check the user name and password in the event store URL"
        case "3D000": "create the database first (createdb DATABASE) or fix its name in the URL"
        case .some: "check the database's permissions and settings"
        case nil: "check that PostgreSQL is running and that the URL's host and port are right"
        }
    }
}
