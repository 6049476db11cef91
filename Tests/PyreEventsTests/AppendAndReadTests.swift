import Foundation
import PyreCore
import PyreEvents
import Testing

@Suite("Append and read a stream")
struct AppendAndReadTests {
    @Test(arguments: StoreBackend.allCases)
    func appendAssignsVersionsAndPositionsFromZero(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let result = try await store.append(to: "orders", testEvents(3), expected: .noStream)
            #expect(result == AppendResult(firstVersion: 0, lastVersion: 2, firstPosition: 0, lastPosition: 2))
            #expect(try await store.version(of: "orders") == 2)
            #expect(try await store.version(of: "missing") == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func readForwardReturnsWhatWasAppended(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let before = Date()
            let metadata = Data(#"{"causedBy":"test"}"#.utf8)
            let events = testEvents(5) + [testEvent(5, type: "Closed", metadata: metadata)]
            _ = try await store.append(to: "orders", events, expected: .any)
            let after = Date()

            let read = try await store.read(stream: "orders", from: 0, limit: 100, direction: .forward)
            #expect(read.map(\.version) == Array(0...5))
            #expect(read.map(\.position) == Array(0...5))
            #expect(read.map(\.id) == events.map(\.id))
            #expect(read.map(\.type) == events.map(\.type))
            #expect(read.map(\.data) == events.map(\.data))
            #expect(read.map(\.metadata) == events.map(\.metadata))
            #expect(read.allSatisfy { $0.stream == "orders" })
            // Stored with microsecond precision.
            #expect(read.allSatisfy { $0.recordedAt >= before.addingTimeInterval(-0.001) })
            #expect(read.allSatisfy { $0.recordedAt <= after.addingTimeInterval(0.001) })
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func dataAndMetadataKeepTheirExactBytes(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            // Key order, spacing, escapes and a trailing newline: a JSON column would rewrite them.
            let data = Data("{ \"z\": 1,\n  \"a\": \"\\u00e9t\u{e9}\" }\n".utf8)
            let metadata = Data("[1,  2.50 , {\"b\":null}]".utf8)
            let event = NewEvent(type: "Raw", data: data, metadata: metadata)
            _ = try await store.append(to: "raw", [event], expected: .noStream)
            let read = try await store.read(stream: "raw", from: 0, limit: 1, direction: .forward)
            #expect(read.map(\.data) == [data])
            #expect(read.map(\.metadata) == [metadata])
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func readForwardHonoursStartAndLimit(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            _ = try await store.append(to: "orders", testEvents(10), expected: .any)
            let page = try await store.read(stream: "orders", from: 3, limit: 4, direction: .forward)
            #expect(page.map(\.version) == [3, 4, 5, 6])
            let tail = try await store.read(stream: "orders", from: 8, limit: 4, direction: .forward)
            #expect(tail.map(\.version) == [8, 9])
            #expect(try await store.read(stream: "orders", from: 10, limit: 4, direction: .forward).isEmpty)
            #expect(try await store.read(stream: "orders", from: 0, limit: 0, direction: .forward).isEmpty)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func readBackwardHonoursStartAndLimit(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            _ = try await store.append(to: "orders", testEvents(10), expected: .any)
            let last = try await store.read(stream: "orders", from: StreamVersion.end, limit: 3, direction: .backward)
            #expect(last.map(\.version) == [9, 8, 7])
            let head = try await store.read(stream: "orders", from: 4, limit: 10, direction: .backward)
            #expect(head.map(\.version) == [4, 3, 2, 1, 0])
            let first = try await store.read(stream: "orders", from: 0, limit: 10, direction: .backward)
            #expect(first.map(\.version) == [0])
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func streamsAreSeparate(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            _ = try await store.append(to: "a", testEvents(2), expected: .noStream)
            _ = try await store.append(to: "b", testEvents(3), expected: .noStream)
            let a = try await store.read(stream: "a", from: 0, limit: 10, direction: .forward)
            let b = try await store.read(stream: "b", from: 0, limit: 10, direction: .forward)
            #expect(a.map(\.version) == [0, 1])
            #expect(b.map(\.version) == [0, 1, 2])
            #expect(b.map(\.position) == [2, 3, 4])
            #expect(try await store.read(stream: "missing", from: 0, limit: 10, direction: .forward).isEmpty)
        }
    }

    struct InvalidInput: Sendable, CustomTestStringConvertible {
        var testDescription: String
        var attempt: @Sendable (any EventStore) async throws -> Void
    }

    static let invalidInputs: [InvalidInput] = [
        InvalidInput(testDescription: "empty stream name") {
            _ = try await $0.append(to: "", testEvents(1), expected: .any)
        },
        InvalidInput(testDescription: "append to $all") {
            _ = try await $0.append(to: "$all", testEvents(1), expected: .any)
        },
        InvalidInput(testDescription: "no events") {
            _ = try await $0.append(to: "s", [], expected: .any)
        },
        InvalidInput(testDescription: "empty type") {
            _ = try await $0.append(to: "s", [testEvent(1, type: "")], expected: .any)
        },
        InvalidInput(testDescription: "data not JSON") {
            _ = try await $0.append(to: "s", [NewEvent(type: "T", data: Data("{oops".utf8))], expected: .any)
        },
        InvalidInput(testDescription: "metadata not JSON") {
            _ = try await $0.append(to: "s", [testEvent(1, metadata: Data("<xml/>".utf8))], expected: .any)
        },
        InvalidInput(testDescription: "one id twice in a batch") {
            let event = testEvent(1)
            _ = try await $0.append(to: "s", [testEvent(0), event, event], expected: .any)
        },
        InvalidInput(testDescription: "negative exact version") {
            _ = try await $0.append(to: "s", testEvents(1), expected: .exact(-1))
        },
        InvalidInput(testDescription: "read from a negative version") {
            _ = try await $0.read(stream: "s", from: -1, limit: 1, direction: .forward)
        },
        InvalidInput(testDescription: "read with a negative limit") {
            _ = try await $0.read(stream: "s", from: 0, limit: -1, direction: .forward)
        },
        InvalidInput(testDescription: "readAll from a negative position") {
            _ = try await $0.readAll(from: -1, limit: 1)
        },
    ]

    @Test(arguments: StoreBackend.allCases, invalidInputs)
    func invalidInputIsRefusedAndWritesNothing(_ backend: StoreBackend, _ input: InvalidInput) async throws {
        try await withStore(backend) { (store) async throws in
            let error = await #expect(throws: PyreError.self) { try await input.attempt(store) }
            #expect(error?.code == .events)
            #expect(try await store.everything().isEmpty)
        }
    }
}
