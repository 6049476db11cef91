import Foundation
import PyreCore
import PyreEvents
import Testing

@Suite("Expected version checks")
struct ExpectedVersionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        /// Events already in the stream before the append (0: no stream).
        var existing: Int
        var expected: ExpectedVersion
        /// nil when the append must succeed; otherwise the actual version the mismatch reports
        /// (`.some(nil)`: the stream does not exist).
        var mismatchActual: Int64??

        var testDescription: String { "\(existing) existing events, expecting \(expected)" }
    }

    static let cases: [Case] = [
        Case(existing: 0, expected: .any, mismatchActual: nil),
        Case(existing: 0, expected: .noStream, mismatchActual: nil),
        Case(existing: 0, expected: .streamExists, mismatchActual: .some(nil)),
        Case(existing: 0, expected: .exact(0), mismatchActual: .some(nil)),
        Case(existing: 2, expected: .any, mismatchActual: nil),
        Case(existing: 2, expected: .noStream, mismatchActual: 1),
        Case(existing: 2, expected: .streamExists, mismatchActual: nil),
        Case(existing: 2, expected: .exact(1), mismatchActual: nil),
        Case(existing: 2, expected: .exact(0), mismatchActual: 1),
        Case(existing: 2, expected: .exact(5), mismatchActual: 1),
    ]

    @Test(arguments: StoreBackend.allCases, cases)
    func appendChecksExpectedVersion(_ backend: StoreBackend, _ testCase: Case) async throws {
        try await withStore(backend) { (store) async throws in
            _ = try await store.append(to: "other", testEvents(1), expected: .noStream)
            if testCase.existing > 0 {
                _ = try await store.append(to: "s", testEvents(testCase.existing), expected: .noStream)
            }
            let before = try await store.everything()

            let attempt = { try await store.append(to: "s", testEvents(2), expected: testCase.expected) }
            if let actual = testCase.mismatchActual {
                let error = await #expect(throws: WrongExpectedVersion.self) { try await attempt() }
                #expect(error == WrongExpectedVersion(stream: "s", expected: testCase.expected, actual: actual))
                #expect(try await store.everything() == before)
            } else {
                let result = try await attempt()
                let firstVersion = Int64(testCase.existing)
                #expect(result == AppendResult(firstVersion: firstVersion, lastVersion: firstVersion + 1,
                                               firstPosition: Int64(before.count),
                                               lastPosition: Int64(before.count) + 1))
                #expect(try await store.version(of: "s") == firstVersion + 1)
            }
        }
    }

    @Test func mismatchMessageSaysWhatToDo() {
        let error = WrongExpectedVersion(stream: "orders", expected: .exact(3), actual: 7)
        #expect(error.description == "stream 'orders' is at version 7 but the append expected version 3: "
            + "read the stream again and retry with its current version")
    }
}
