import Foundation
import Logging
import PyreEvents
import PyreEventsPostgres
import PyreTesting
import Synchronization
import Testing

/// The event store backends every conformance test runs against.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// Fresh, empty storage for one test: a new SQLite file, or a new database on the test
/// process's PostgreSQL cluster. Stores opened on it are closed when the test ends.
final class TestStorage: Sendable {
    enum Location {
        case file(URL)
        case database(url: String)
    }

    let location: Location
    private let opened = Mutex<[any ClosableStore]>([])

    private init(_ location: Location) {
        self.location = location
    }

    /// Opens a store on this storage; each call is a new store (a reopening, or a second agent).
    func open() async throws -> any EventStore {
        switch location {
        case .file(let path):
            let store = try SQLiteEventStore(path: path)
            opened.withLock { $0.append(store) }
            return store
        case .database(let url):
            let store = try await PostgresEventStore.open(PostgresEventStoreConfiguration(url: url), logger: quietLogger)
            opened.withLock { $0.append(store) }
            return store
        }
    }

    static func with<T>(_ backend: StoreBackend, _ body: (TestStorage) async throws -> T) async throws -> T {
        switch backend {
        case .sqlite:
            return try await withTemporaryDirectory { directory in
                try await TestStorage(.file(storeFile(in: directory))).run(body)
            }
        case .postgres:
            let cluster = try await PostgresTestCluster.shared()
            return try await TestStorage(.database(url: cluster.url(database: try await cluster.createDatabase()))).run(body)
        }
    }

    /// Runs `body`, then closes the stores it opened.
    private func run<T>(_ body: (TestStorage) async throws -> T) async throws -> T {
        do {
            let result = try await body(self)
            await closeStores()
            return result
        } catch {
            await closeStores()
            throw error
        }
    }

    /// Closes every store opened so far: a reopening then takes over the file or database.
    func closeStores() async {
        for store in opened.withLock({ stores in defer { stores = [] }; return stores }) {
            await store.close()
        }
    }
}

/// A store whose test must close it before the same storage is opened again.
protocol ClosableStore: Sendable {
    func close() async
}

extension SQLiteEventStore: ClosableStore {}
extension PostgresEventStore: ClosableStore {}

/// Runs `body` with a store on fresh storage of `backend`.
func withStore<T>(_ backend: StoreBackend, _ body: (any EventStore) async throws -> T) async throws -> T {
    try await TestStorage.with(backend) { storage in try await body(storage.open()) }
}

/// Tests check errors, not log lines; migrations would log one line per test database.
let quietLogger = Logger(label: "pyre-events-tests") { _ in SwiftLogNoOpLogHandler() }
