import Foundation
import PyreCore
import PyreEvents
import Testing

@Suite("Snapshots")
struct SnapshotTests {
    @Test(arguments: StoreBackend.allCases)
    func latestSnapshotIsReturnedAndOlderOnesDoNotReplaceIt(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            _ = try await store.append(to: "book", testEvents(5), expected: .any)
            #expect(try await store.latestSnapshot(of: "book") == nil)
            let atTwo = Snapshot(stream: "book", version: 2, data: Data(#"{"entries":3}"#.utf8))
            let atFour = Snapshot(stream: "book", version: 4, data: Data(#"{"entries":5}"#.utf8))
            try await store.saveSnapshot(atTwo)
            #expect(try await store.latestSnapshot(of: "book") == atTwo)
            try await store.saveSnapshot(atFour)
            try await store.saveSnapshot(atTwo)
            #expect(try await store.latestSnapshot(of: "book") == atFour)
            #expect(try await store.latestSnapshot(of: "other") == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func snapshotAheadOfTheStreamIsRefused(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            _ = try await store.append(to: "book", testEvents(2), expected: .any)
            for snapshot in [Snapshot(stream: "book", version: 2, data: Data("{}".utf8)),
                             Snapshot(stream: "empty", version: 0, data: Data("{}".utf8))] {
                let error = await #expect(throws: PyreError.self) { try await store.saveSnapshot(snapshot) }
                #expect(error?.message.contains("ahead of the stream") == true)
            }
            #expect(try await store.latestSnapshot(of: "book") == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func malformedSnapshotIsRefused(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            _ = try await store.append(to: "book", testEvents(1), expected: .any)
            let notJSON = Snapshot(stream: "book", version: 0, data: Data("{".utf8))
            await #expect(throws: PyreError.self) { try await store.saveSnapshot(notJSON) }
            let negative = Snapshot(stream: "book", version: -1, data: Data("{}".utf8))
            await #expect(throws: PyreError.self) { try await store.saveSnapshot(negative) }
        }
    }
}
