import Foundation
import PyreEvents

/// Runs `body` with a fresh directory that is removed afterwards.
func withTemporaryDirectory<T>(_ body: (URL) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("pyre-events-tests-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try await body(directory)
}

/// The store file inside a test directory; one level deeper so opening must create the parent.
func storeFile(in directory: URL) -> URL {
    directory.appendingPathComponent("persistent/events/events.sqlite")
}

/// Runs `body` with a store on a fresh file.
func withTemporaryStore<T>(_ body: (SQLiteEventStore) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { directory in
        try await body(SQLiteEventStore(path: storeFile(in: directory)))
    }
}

/// A small event whose JSON body carries `number`.
func testEvent(_ number: Int, type: String = "Counted", metadata: Data? = nil) -> NewEvent {
    NewEvent(type: type, data: Data(#"{"number":\#(number)}"#.utf8), metadata: metadata)
}

func testEvents(_ count: Int) -> [NewEvent] {
    (0..<count).map { testEvent($0) }
}

extension EventStore {
    /// Every event in the store, in global order.
    func everything() async throws -> [RecordedEvent] {
        try await readAll(from: 0, limit: .max)
    }
}
