import Foundation
import PyreCore
import PyreEvents
import Testing

@Suite("Reading $all")
struct ReadAllTests {
    @Test(arguments: StoreBackend.allCases)
    func positionsAreGapFreeInAppendOrderAcrossStreams(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            var appended: [(stream: String, event: NewEvent)] = []
            var results: [AppendResult] = []
            for round in 0..<4 {
                for stream in ["a", "b", "c"] {
                    let batch = testEvents(round + 1)
                    results.append(try await store.append(to: stream, batch, expected: .any))
                    appended += batch.map { (stream, $0) }
                }
            }

            let all = try await store.everything()
            #expect(all.map(\.position) == Array(0..<Int64(appended.count)))
            #expect(all.map(\.id) == appended.map(\.event.id))
            #expect(all.map(\.stream) == appended.map(\.stream))
            // Each result covers exactly its own events, back to back.
            #expect(results.first?.firstPosition == 0)
            for (previous, next) in zip(results, results.dropFirst()) {
                #expect(next.firstPosition == previous.lastPosition + 1)
            }
            for stream in ["a", "b", "c"] {
                let versions = all.filter { $0.stream == stream }.map(\.version)
                #expect(versions == Array(0..<Int64(versions.count)))
            }
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func pagesJoinUpToTheWhole(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            for stream in ["a", "b", "a", "c", "b"] {
                _ = try await store.append(to: stream, testEvents(3), expected: .any)
            }
            var pages: [RecordedEvent] = []
            var next: Int64 = 0
            while case let page = try await store.readAll(from: next, limit: 4), let last = page.last {
                #expect(page.count <= 4)
                pages += page
                next = last.position + 1
            }
            #expect(pages == (try await store.everything()))
            #expect(pages.count == 15)
            #expect(try await store.readAll(from: 7, limit: 2).map(\.position) == [7, 8])
        }
    }

    /// Long forward reads are read in two halves at once (SQLite); whatever half the end falls
    /// in, a read returns exactly the events a single pass would.
    @Test(arguments: StoreBackend.allCases)
    func longForwardReadsReturnEveryEventOnceInOrder(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let big = testEvents(1_300)
            _ = try await store.append(to: "other", testEvents(2), expected: .any)
            _ = try await store.append(to: "big", big, expected: .noStream)
            for (from, count) in [(0, 1_000), (500, 800), (1_000, 300), (1_299, 1), (1_300, 0)] {
                let page = try await store.read(stream: "big", from: Int64(from), limit: 1_000, direction: .forward)
                #expect(page.map(\.version) == Array(Int64(from)..<Int64(from + count)))
                #expect(page.map(\.id) == big[from..<(from + count)].map(\.id))
                #expect(page.map { Array($0.data) } == big[from..<(from + count)].map { Array($0.data) })
            }
            for (from, count) in [(0, 1_000), (502, 800), (1_002, 300), (1_301, 1), (1_302, 0)] {
                let page = try await store.readAll(from: Int64(from), limit: 1_000)
                #expect(page.map(\.position) == Array(Int64(from)..<Int64(from + count)))
            }
        }
    }
}
