import Foundation
import Logging
import PostgresNIO
import PyreEvents
import PyreEventsPostgres
import PyreTesting

/// One backend of the append benchmark, opened on fresh storage for each measurement.
/// Every writer appends to a stream of its own, numbering its events 0, 1, 2, …
protocol AppendTarget: Sendable {
    /// Appends event `number` of `writer` as version `number` of the writer's stream;
    /// returns once the event is durable.
    func append(writer: Int, number: Int) async throws
    /// Returns once the target has finished the work its acknowledgements left behind.
    func settle() async throws
    func close() async
}

extension AppendTarget {
    func settle() async throws {}
}

/// The small JSON body every target appends.
func benchmarkEvent(writer: Int, number: Int) -> Data {
    Data(#"{"writer":\#(writer),"number":\#(number),"note":"bench"}"#.utf8)
}

/// A Pyre event store: appends expect the exact previous version, the check plain
/// PostgreSQL gets from its unique (stream, version) constraint.
struct PyreStoreTarget: AppendTarget {
    let store: any EventStore
    let closing: @Sendable () async -> Void

    func append(writer: Int, number: Int) async throws {
        let expected: ExpectedVersion = number == 0 ? .noStream : .exact(Int64(number - 1))
        _ = try await store.append(to: "bench-\(writer)", [NewEvent(type: "Counted", data: benchmarkEvent(
            writer: writer, number: number))], expected: expected)
    }

    func close() async { await closing() }

    /// The SQLite store's tables have caught up with its commit log once a read returns.
    func settle() async throws { _ = try await store.lastPosition() }

    static func sqlite(in directory: URL) throws -> PyreStoreTarget {
        let path = directory.appendingPathComponent("events-\(UUID().uuidString).sqlite")
        let store = try SQLiteEventStore(path: path)
        return PyreStoreTarget(store: store) {
            await store.close()
            for suffix in ["", "-wal", "-shm", "-commitlog"] { try? FileManager.default.removeItem(atPath: path.path + suffix) }
        }
    }

    static func postgres(_ cluster: PostgresTestCluster, logger: Logger) async throws -> PyreStoreTarget {
        let configuration = PostgresEventStoreConfiguration(
            endpoint: .unixSocket(directory: cluster.socketDirectory, port: cluster.port),
            username: cluster.superuser, password: nil, database: try await cluster.createDatabase())
        let store = try await PostgresEventStore.open(configuration, logger: logger)
        return PyreStoreTarget(store: store) { await store.close() }
    }
}

/// Plain PostgreSQL doing the same work without Pyre: one INSERT per event, each its own
/// transaction (autocommit), committed with synchronous_commit=on; the unique (stream, version)
/// constraint is the optimistic-concurrency check. Positions come from a sequence, with the
/// gaps in commit order that Pyre's store designs out.
struct PlainPostgresTarget: AppendTarget {
    let client: PostgresClient
    let running: Task<Void, Never>
    let logger: Logger

    static let schema = """
        CREATE TABLE events (
            position bigserial PRIMARY KEY,
            stream text NOT NULL,
            version bigint NOT NULL,
            id uuid NOT NULL UNIQUE,
            type text NOT NULL,
            data bytea NOT NULL,
            metadata bytea,
            recorded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
            UNIQUE (stream, version)
        )
        """

    static func open(_ cluster: PostgresTestCluster, writers: Int, logger: Logger) async throws -> PlainPostgresTarget {
        let database = try await cluster.createDatabase()
        try await cluster.psql(schema, database: database)
        var configuration = PostgresClient.Configuration(
            unixSocketPath: cluster.socketDirectory + "/.s.PGSQL.\(cluster.port)",
            username: cluster.superuser, password: nil, database: database)
        configuration.options.additionalStartupParameters = [("synchronous_commit", "on")]
        configuration.options.maximumConnections = writers
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return PlainPostgresTarget(client: client, running: Task { await client.run() }, logger: logger)
    }

    func append(writer: Int, number: Int) async throws {
        let data = benchmarkEvent(writer: writer, number: number)
        try await client.query("""
            INSERT INTO events (stream, version, id, type, data)
            VALUES (\("bench-\(writer)"), \(Int64(number)), \(UUID()), 'Counted', \(data))
            """, logger: logger)
    }

    func close() async {
        running.cancel()
        await running.value
    }
}
