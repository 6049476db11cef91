import Foundation
import PyreCore
import PyreEvents
import Testing

@Suite("Idempotent appends")
struct IdempotencyTests {
    @Test(arguments: StoreBackend.allCases, [ExpectedVersion.any, .noStream])
    func retryReturnsTheOriginalResult(_ backend: StoreBackend, _ expected: ExpectedVersion) async throws {
        try await withStore(backend) { (store) async throws in
            let batch = testEvents(3)
            let original = try await store.append(to: "s", batch, expected: expected)
            let stored = try await store.everything()

            let retry = try await store.append(to: "s", batch, expected: expected)
            #expect(retry == original)
            #expect(try await store.everything() == stored)
            // The retry used up no positions.
            #expect(try await store.append(to: "t", testEvents(1), expected: .any).firstPosition == Int64(stored.count))
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func retryAfterLaterAppendsStillAnswersTheOriginal(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            _ = try await store.append(to: "s", testEvents(2), expected: .noStream)
            let batch = testEvents(2)
            let original = try await store.append(to: "s", batch, expected: .exact(1))
            _ = try await store.append(to: "other", testEvents(1), expected: .any)
            _ = try await store.append(to: "s", testEvents(1), expected: .exact(3))
            let stored = try await store.everything()

            #expect(try await store.append(to: "s", batch, expected: .exact(1)) == original)
            #expect(try await store.append(to: "s", batch, expected: .streamExists) == original)
            #expect(try await store.everything() == stored)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func retryWhoseExpectationNeverHeldIsAMismatch(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let batch = testEvents(2)
            _ = try await store.append(to: "s", batch, expected: .noStream)
            let error = await #expect(throws: WrongExpectedVersion.self) {
                try await store.append(to: "s", batch, expected: .exact(5))
            }
            #expect(error?.actual == 1)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func idStoredInAnotherStreamIsRefused(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let event = testEvent(1)
            _ = try await store.append(to: "a", [event], expected: .any)
            let stored = try await store.everything()
            let error = await #expect(throws: PyreError.self) {
                try await store.append(to: "b", [event], expected: .any)
            }
            #expect(error?.code == .eventIDTaken)
            #expect(error?.message.contains("already stored in stream 'a' at version 0") == true)
            #expect(try await store.everything() == stored)
            #expect(try await store.version(of: "b") == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func storedIdMixedWithNewEventsIsRefused(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let event = testEvent(1)
            _ = try await store.append(to: "s", [event], expected: .any)
            let stored = try await store.everything()
            await #expect(throws: PyreError.self) {
                try await store.append(to: "s", [event, testEvent(2)], expected: .any)
            }
            #expect(try await store.everything() == stored)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func storedIdsInAnotherOrderAreRefused(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let batch = testEvents(2)
            _ = try await store.append(to: "s", batch, expected: .any)
            await #expect(throws: PyreError.self) {
                try await store.append(to: "s", batch.reversed(), expected: .any)
            }
        }
    }
}
