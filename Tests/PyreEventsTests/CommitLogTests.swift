import Foundation
import GRDB
import PyreCore
@testable import PyreEvents
import Testing

@Suite("Commit log")
struct CommitLogTests {
    @Test func framesRoundTripAndADamagedOrCutFrameIsTorn() throws {
        let appends = [
            LoggedAppend(stream: "s", firstVersion: 0, firstPosition: 0, recordedAt: 1_700_000_000_000_000,
                         events: [testEvent(1), testEvent(2, metadata: Data(#"{"by":"me"}"#.utf8))]),
            LoggedAppend(stream: "ü-stream", firstVersion: 7, firstPosition: 2, recordedAt: 5, events: [testEvent(3)]),
        ]
        var bytes = CommitLogRecord.encode(appends) + [UInt8](repeating: 0, count: 16)
        let size = bytes.count - 16
        #expect(bytes.withUnsafeBytes { CommitLogRecord.frame(in: $0, at: 0) } == .appends(appends, size: size))
        #expect(bytes.withUnsafeBytes { CommitLogRecord.frame(in: $0, at: size) } == .end)
        #expect(Array(bytes[..<(size - 1)]).withUnsafeBytes { CommitLogRecord.frame(in: $0, at: 0) } == .torn)
        bytes[size / 2] ^= 0x40
        #expect(bytes.withUnsafeBytes { CommitLogRecord.frame(in: $0, at: 0) } == .torn)
    }

    @Test func appendsLoggedBeforeACrashAreAppliedWhenTheStoreOpensAndATornTailIsIgnored() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = storeFile(in: directory)
            let store = try SQLiteEventStore(path: path)
            _ = try await store.append(to: "s", testEvents(2), expected: .noStream)
            await store.close()
            // What a crash leaves: a frame the applier never inserted, then half of the next one.
            let lost = LoggedAppend(stream: "s", firstVersion: 2, firstPosition: 2, recordedAt: 42, events: [testEvent(7)])
            let log = try CommitLog(directory: SQLiteEventStore.logDirectory(of: path))
            try log.restart(at: 2)
            try log.write([lost])
            log.close()
            let segment = try #require(try segments(of: path).first)
            let handle = try FileHandle(forWritingTo: segment)
            try handle.seek(toOffset: UInt64(CommitLogRecord.encode([lost]).count))
            try handle.write(contentsOf: CommitLogRecord.encode([lost]).prefix(20))
            try handle.close()

            let reopened = try SQLiteEventStore(path: path)
            let stored = try await reopened.everything()
            #expect(stored.map(\.position) == [0, 1, 2])
            #expect(stored.last?.id == lost.events[0].id)
            #expect(stored.last.map { ($0.recordedAt.timeIntervalSince1970 * 1_000_000).rounded() } == 42)
            let next = try await reopened.append(to: "s", testEvents(1), expected: .exact(2))
            #expect(next == AppendResult(firstVersion: 3, lastVersion: 3, firstPosition: 3, lastPosition: 3))
            await reopened.close()
        }
    }

    @Test func aLogThatDoesNotContinueTheStoreIsRefused() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = storeFile(in: directory)
            await (try SQLiteEventStore(path: path)).close()
            let log = try CommitLog(directory: SQLiteEventStore.logDirectory(of: path))
            try log.restart(at: 5)
            try log.write([LoggedAppend(stream: "s", firstVersion: 0, firstPosition: 5, recordedAt: 0, events: [testEvent(1)])])
            log.close()

            let error = #expect(throws: PyreError.self) { try SQLiteEventStore(path: path) }
            #expect(error?.message.contains("does not continue the event store") == true)
            #expect(error?.message.contains("ends at position -1") == true)
        }
    }

    @Test func aSecondStoreOnTheSameFileIsRefusedUntilTheFirstIsClosed() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = storeFile(in: directory)
            let store = try SQLiteEventStore(path: path)
            let error = #expect(throws: PyreError.self) { try SQLiteEventStore(path: path) }
            #expect(error?.message.contains("is already open") == true)
            await store.close()
            await (try SQLiteEventStore(path: path)).close()
        }
    }

    /// Frames small and large, crossing 4 KiB blocks and outgrowing the direct writer's first
    /// 64 KiB buffer, through `O_DIRECT` (where the file system allows it) and the page cache.
    @Test(arguments: [true, false])
    func framesOfEverySizeReadBackAfterReopeningAndZerosFollowThem(directIO: Bool) async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let logDirectory = directory.appendingPathComponent("log")
            let log = try CommitLog(directory: logDirectory, directIO: directIO)
            try log.restart(at: 0)
            let padding = String(repeating: "x", count: 3_000)
            var written: [LoggedAppend] = []
            for (index, count) in [1, 1, 2, 3, 1, 30, 1, 5, 40, 1].enumerated() {
                let events = (0..<count).map { number in
                    NewEvent(type: "Sized", data: Data(#"{"n":\#(number),"pad":"\#(padding.prefix(index * 300))"}"#.utf8))
                }
                let first = written.last?.lastPosition ?? -1
                let append = LoggedAppend(stream: "s\(index)", firstVersion: 0, firstPosition: first + 1,
                                          recordedAt: Int64(index), events: events)
                try log.write([append])
                written.append(append)
            }
            log.close()
            let reopened = try CommitLog(directory: logDirectory, directIO: directIO)
            #expect(try reopened.recover() == written)
            reopened.close()
            let segment = try #require(try FileManager.default.contentsOfDirectory(atPath: logDirectory.path)
                .first { $0.hasSuffix(".log") })
            let contents = try Data(contentsOf: logDirectory.appendingPathComponent(segment))
            let end = written.reduce(0) { $0 + CommitLogRecord.encode([$1]).count }
            #expect(contents.count == CommitLog.segmentSize)
            #expect(contents[end...].allSatisfy { $0 == 0 })
        }
    }

    @Test func checkpointLeavesEveryAcknowledgedAppendInTheDatabaseFileItself() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = storeFile(in: directory)
            let store = try SQLiteEventStore(path: path)
            for _ in 0..<3 { _ = try await store.append(to: "s", testEvents(100), expected: .any) }
            try await store.checkpoint()
            // The database file alone, without its write-ahead log, holds them all.
            let copy = directory.appendingPathComponent("copy.sqlite")
            try FileManager.default.copyItem(at: path, to: copy)
            let count = try await DatabaseQueue(path: copy.path).read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM events") }
            #expect(count == 300)
            await store.close()
        }
    }

    @Test func fullSegmentsAreDeletedOnceSQLiteHoldsTheirAppendsDurably() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = storeFile(in: directory)
            let store = try SQLiteEventStore(path: path)
            // About 2.5 segments of 16 MiB, in appends of 100 events of 2 KiB.
            let body = Data(("{\"pad\":\"" + String(repeating: "x", count: 2_000) + "\"}").utf8)
            for _ in 0..<200 {
                let events = (0..<100).map { _ in NewEvent(type: "Padded", data: body) }
                _ = try await store.append(to: "big", events, expected: .any)
            }
            #expect(try await store.lastPosition() == 19_999)
            #expect(try segments(of: path).count == 1, "the full segments were deleted, the current one kept")
            await store.close()

            let reopened = try SQLiteEventStore(path: path)
            #expect(try await reopened.version(of: "big") == 19_999)
            await reopened.close()
        }
    }

    private func segments(of path: URL) throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: SQLiteEventStore.logDirectory(of: path),
                                                    includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "log" }.sorted { $0.path < $1.path }
    }
}

@Suite("Stored id filter")
struct StoredIDFilterTests {
    @Test func answersMaybeForEveryInsertedIDAndForAnyIDUntilReady() {
        let filter = StoredIDFilter(storedEvents: 0)
        let stored = (0..<10_000).map { _ in UUID.random() }
        filter.insert(stored)
        let fresh = (0..<10_000).map { _ in UUID.random() }
        #expect(fresh.allSatisfy { filter.mayContain($0) }, "not ready: every id may be stored")
        filter.markReady()
        #expect(stored.allSatisfy { filter.mayContain($0) })
        let falsePositives = fresh.filter { filter.mayContain($0) }.count
        #expect(falsePositives < 100, "\(falsePositives) of 10,000 new ids looked stored")
    }

    @Test func idsStoredBeforeOpeningAreKnownOnceTheScanIsDone() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = storeFile(in: directory)
            let first = try SQLiteEventStore(path: path)
            let events = testEvents(3)
            let original = try await first.append(to: "s", events, expected: .noStream)
            await first.close()

            let store = try SQLiteEventStore(path: path)
            while !store.storedIDs.isReady { try await Task.sleep(for: .milliseconds(5)) }
            #expect(events.allSatisfy { store.storedIDs.mayContain($0.id) })
            #expect(try await store.append(to: "s", events, expected: .noStream) == original)
            let error = await #expect(throws: PyreError.self) {
                try await store.append(to: "t", [events[1]], expected: .any)
            }
            #expect(error?.code == .eventIDTaken)
            await store.close()
        }
    }
}
