import Foundation
import Logging
import PostgresNIO
import PyreCore
import PyreEvents
import Synchronization

/// The event store on a PostgreSQL database, for agents that share one (or want its backups).
/// Same guarantees and errors as ``SQLiteEventStore``.
///
/// Lifecycle: ``migrate()`` connects once directly (so a wrong address or password fails at
/// once with the server's reason) and migrates the schema; ``run()`` then runs the connection
/// pool and a watcher for other processes' appends until it is cancelled (the agent runs it as
/// a service of its group). ``open(_:logger:)`` does both, running the pool in a task the store
/// owns until ``close()``. While the database is unreachable later on, operations wait for the
/// pool to reconnect and fail with `PyreError(.events, …)` if it cannot.
public final class PostgresEventStore: EventStore {
    public let configuration: PostgresEventStoreConfiguration
    public let appendSignal: AppendSignal
    /// Internal so tests can check the connections' settings.
    let client: PostgresClient
    /// Appends' own connection (see ``PostgresConnectionSettings/appendConnection()``).
    let appendConnection: PostgresAppendConnection
    private let logger: Logger
    /// How ``migrate()`` connects: once, directly, outside the pool.
    private let migrationConnection: PostgresConnection.Configuration
    /// ``run()`` as ``open(_:logger:)`` started it.
    private let background = Mutex<Task<Void, Never>?>(nil)
    /// Concurrent appends share one transaction and one commit, as with SQLite.
    private let appendCommitter: Coalescer<PostgresAppend, AppendResult>

    /// Makes the pool; nothing connects until ``migrate()`` and ``run()``.
    public init(_ configuration: PostgresEventStoreConfiguration, logger: Logger) throws {
        let connections = try PostgresConnectionSettings(configuration)
        self.configuration = configuration
        migrationConnection = try connections.connection()
        client = PostgresClient(configuration: connections.client(), backgroundLogger: logger)
        let appendConnection = PostgresAppendConnection(configuration: try connections.appendConnection(), logger: logger)
        self.appendConnection = appendConnection
        self.logger = logger
        let appendSignal = AppendSignal()
        self.appendSignal = appendSignal
        appendCommitter = Coalescer(limits: .init(requests: 256, weight: 4 << 20), gather: nil,
                                    loneRequestsInline: true) { appends in
            do {
                let results = try await appendConnection.withConnection { connection, tail in
                    try await PostgresAppend.runBatch(appends, on: connection, tail: &tail, logger: logger)
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

    /// Connects once, on a connection of its own, and migrates the schema.
    public func migrate() async throws {
        do {
            let connection = try await PostgresConnection.connect(
                configuration: migrationConnection, id: 0, logger: logger)
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
                + "\(PostgresFailure.describe(error)); \(Self.advice(for: error))")
        }
    }

    /// Runs the pool and the append watcher until cancelled, then closes every connection.
    public func run() async {
        let pool = Task { await client.run() }
        await watchPositions()
        // The watcher first: a query it started just as the pool shut down could wait forever
        // for a connection, and the shutdown with it.
        pool.cancel()
        await pool.value
        await appendConnection.close()
    }

    /// Connects, migrates the schema, and runs the pool until ``close()``.
    public static func open(_ configuration: PostgresEventStoreConfiguration, logger: Logger) async throws
        -> PostgresEventStore {
        let store = try PostgresEventStore(configuration, logger: logger)
        try await store.migrate()
        store.background.withLock { $0 = Task { await store.run() } }
        return store
    }

    /// Stops what ``open(_:logger:)`` started and waits until every connection is closed.
    public func close() async {
        let task = background.withLock { task in
            defer { task = nil }
            return task
        }
        task?.cancel()
        await task?.value
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

    /// Pulses ``appendSignal`` when the last position moves, so subscribers see appends
    /// committed by other processes (other agents on the same database) within
    /// `watchInterval`; local appends pulse it themselves. A poll, not LISTEN/NOTIFY: NOTIFY
    /// takes a database-wide lock at every commit, which halved single-writer appends.
    private func watchPositions() async {
        var last: Int64?
        while !Task.isCancelled {
            do {
                let next = try await PostgresRows.first(
                    client.query("SELECT coalesce(max(position), -1) FROM events", logger: logger).decode(Int64.self))
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
