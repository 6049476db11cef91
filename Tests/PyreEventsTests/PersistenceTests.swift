import Foundation
import GRDB
import PyreCore
@testable import PyreEvents
import Testing

@Suite("Persistence")
struct PersistenceTests {
    @Test(arguments: StoreBackend.allCases)
    func eventsSurviveCloseAndReopen(_ backend: StoreBackend) async throws {
        try await TestStorage.with(backend) { (storage) async throws in
            let store = try await storage.open()
            _ = try await store.append(to: "a", testEvents(3), expected: .noStream)
            _ = try await store.append(to: "b", testEvents(2), expected: .noStream)
            let stored = try await store.everything()
            await storage.closeStores()

            let reopened = try await storage.open()
            #expect(try await reopened.everything() == stored)
            #expect(try await reopened.version(of: "a") == 2)
            let next = try await reopened.append(to: "a", testEvents(1), expected: .exact(2))
            #expect(next == AppendResult(firstVersion: 3, lastVersion: 3, firstPosition: 5, lastPosition: 5))
        }
    }

    @Test func databaseFileIsInWriteAheadLogMode() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = storeFile(in: directory)
            _ = try await SQLiteEventStore(path: path).append(to: "a", testEvents(1), expected: .any)
            // SQLite file header bytes 18 and 19 (write and read format) are 2 in WAL mode.
            let header = try FileHandle(forReadingFrom: path).read(upToCount: 20) ?? Data()
            #expect(Array(header.suffix(2)) == [2, 2])
        }
    }

    @Test func anAcknowledgedAppendIsInTheCommitLogAndSQLiteCommitsDoNotSync() async throws {
        try await withTemporaryStore { (store) async throws in
            let events = testEvents(2)
            let result = try await store.append(to: "s", events, expected: .noStream)
            let segments = try FileManager.default.contentsOfDirectory(
                at: SQLiteEventStore.logDirectory(of: store.path), includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "log" }
            #expect(segments.count == 1)
            let contents = try Data(contentsOf: try #require(segments.first))
            let frame = contents.withUnsafeBytes { CommitLogRecord.frame(in: $0, at: 0) }
            guard case .appends(let logged, _) = frame else { Issue.record("no frame at the segment's start"); return }
            #expect(logged.map(\.result) == [result])
            #expect(logged.first?.events == events)

            let synchronous = try await store.database.writeWithoutTransaction { db in
                try String.fetchOne(db, sql: "PRAGMA synchronous")
            }
            #expect(synchronous == "1", "1 is NORMAL: the commit log, not SQLite, syncs each commit")
        }
    }

    @Test func aFileThatIsNotADatabaseIsRefused() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = directory.appendingPathComponent("events.sqlite")
            try Data(String(repeating: "not a database ", count: 100).utf8).write(to: path)
            let error = #expect(throws: PyreError.self) { try SQLiteEventStore(path: path) }
            #expect(error?.code == .events)
            #expect(error?.message.contains(path.path) == true)
        }
    }
}
