import Foundation
import GRDB
import PyreCore
import Testing
@testable import PyreEvents

/// Reads that lend each event's stored fields see the same events, in the same order, as reads
/// that make `RecordedEvent`s.
@Suite("Stored fields")
struct StoredFieldsTests {
    /// Makes the events back from the lent fields; ids as the text lent.
    struct Collected: StoredEventVisitor {
        var events: [RecordedEvent] = []
        var idTexts: [String] = []

        mutating func visit(_ event: StoredEventFields) {
            let id = String(decoding: event.id, as: UTF8.self)
            idTexts.append(id)
            events.append(RecordedEvent(
                stream: String(decoding: event.stream, as: UTF8.self), id: UUIDText.parse(id)!,
                type: String(decoding: event.type, as: UTF8.self), data: Data(event.data),
                metadata: event.metadata.map { Data($0) }, version: event.version, position: event.position,
                recordedAt: event.recordedAt))
        }
    }

    func visited(_ store: any EventStore, stream: String?, from: Int64, limit: Int,
                 direction: ReadDirection = .forward) async throws -> Collected {
        var all = Collected()
        for part in try await store.visitEvents(Collected.self, stream: stream, from: from, limit: limit, direction: direction) {
            all.events += part.events
            all.idTexts += part.idTexts
        }
        return all
    }

    @Test func storedFieldsAreTheEventsReadsReturn() async throws {
        try await withTemporaryStore { store in
            for batch in 0..<6 {
                let events = (0..<150).map { testEvent(batch * 150 + $0, metadata: $0 % 3 == 0 ? Data(#"{"m":1}"#.utf8) : nil) }
                _ = try await store.append(to: ["one", "twö/\"x\""][batch % 2], events, expected: .any)
            }
            // Split reads (512 or more) and single ones, from the start, the middle and past the end.
            for (from, limit) in [(0, 900), (0, 10), (37, 600), (899, 5), (900, 5)] {
                let read = try await store.readAll(from: Int64(from), limit: limit)
                let lent = try await visited(store, stream: nil, from: Int64(from), limit: limit)
                #expect(lent.events == read, "$all from \(from) limit \(limit)")
                #expect(lent.idTexts == read.map { $0.id.uuidString.lowercased() })
            }
            for direction in [ReadDirection.forward, .backward] {
                let from: Int64 = direction == .forward ? 5 : StreamVersion.end
                let read = try await store.read(stream: "twö/\"x\"", from: from, limit: 1_000, direction: direction)
                #expect(try await visited(store, stream: "twö/\"x\"", from: from, limit: 1_000, direction: direction).events == read)
                #expect(read.count == (direction == .forward ? 445 : 450))
            }
        }
    }

    @Test func anIDStoredOtherwiseIsLentAsPyreWritesIt() async throws {
        try await withTemporaryDirectory { directory in
            let store = try SQLiteEventStore(path: storeFile(in: directory))
            _ = try await store.append(to: "s", testEvents(3), expected: .any)
            let ids = try await store.readAll(from: 0, limit: 3).map(\.id)
            let outside = try DatabaseQueue(path: storeFile(in: directory).path)
            try await outside.write { db in
                try db.execute(sql: "UPDATE events SET id = upper(id) WHERE position = 1")
            }
            #expect(try await visited(store, stream: nil, from: 0, limit: 3).idTexts == ids.map { $0.uuidString.lowercased() })
            try await outside.write { db in try db.execute(sql: "UPDATE events SET id = 'not-an-id' WHERE position = 2") }
            let error = await #expect(throws: PyreError.self) { try await visited(store, stream: "s", from: 0, limit: 3) }
            #expect(error?.message.contains("event at position 2 has the malformed id 'not-an-id'") == true)
        }
    }
}
