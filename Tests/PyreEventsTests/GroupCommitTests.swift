import Foundation
import GRDB
import PyreCore
@testable import PyreEvents
import Testing

@Suite("Group commit")
struct GroupCommitTests {
    @Test func concurrentAppendersAreEachCommittedOnceInFewerCommitsThanAppends() async throws {
        try await withTemporaryStore { (store) async throws in
            let attempts = await withTaskGroup(of: [Attempt].self) { group in
                for appender in 0..<64 {
                    group.addTask { await Self.twentyAppends(by: appender, to: store) }
                }
                return await group.reduce(into: []) { $0 += $1 }
            }
            #expect(attempts.count == 64 * 20)

            // Exactly one appender created "race"; the others saw it at version 0.
            let race = attempts.filter { $0.stream == "race" }
            #expect(race.compactMap { try? $0.outcome.get() }.count == 1)
            let raceLosers = race.compactMap { $0.failure as? WrongExpectedVersion }
            #expect(raceLosers.count == 63)
            #expect(raceLosers.allSatisfy { $0 == WrongExpectedVersion(stream: "race", expected: .noStream, actual: 0) })
            // Stale expected versions fail with the version the appender's own stream really had.
            for attempt in attempts {
                if let actual = attempt.conflictsWithActual {
                    #expect(attempt.failure as? WrongExpectedVersion
                        == WrongExpectedVersion(stream: attempt.stream, expected: attempt.expected, actual: actual))
                } else if attempt.stream != "race" {
                    #expect(throws: Never.self) { try attempt.outcome.get() }
                }
            }

            // Every acknowledged append is stored once, where its result says; nothing else is stored.
            let all = try await store.everything()
            #expect(all.map(\.position) == Array(0..<Int64(all.count)))
            let acknowledged = attempts.compactMap { attempt in (try? attempt.outcome.get()).map { (attempt, $0) } }
            #expect(all.count == acknowledged.reduce(0) { $0 + $1.0.ids.count })
            for (attempt, result) in acknowledged {
                let stored = all[Int(result.firstPosition)...Int(result.lastPosition)]
                #expect(stored.map(\.id) == attempt.ids)
                #expect(stored.allSatisfy { $0.stream == attempt.stream })
                #expect(stored.map(\.version) == Array(result.firstVersion...result.lastVersion))
            }
            for stream in Set(all.map(\.stream)) {
                let versions = all.filter { $0.stream == stream }.map(\.version)
                #expect(versions == Array(0..<Int64(versions.count)), "stream \(stream)")
            }

            let commits = store.appendCommitter.batchCount
            #expect(commits < attempts.count, "appends that waited together were committed together")
        }
    }

    @Test func appendsThatFailTheirChecksInABatchLeaveTheOthersAlone() async throws {
        try await withTemporaryStore { (store) async throws in
            _ = try await store.append(to: "s", testEvents(2), expected: .noStream)
            let storedElsewhere = testEvent(9)
            _ = try await store.append(to: "other", [storedElsewhere], expected: .any)
            _ = try await store.everything()
            let pulses = store.appendSignal.pulses

            let results = await store.writer.commit([
                append("s", testEvents(1), .exact(1)),
                append("s", testEvents(1), .exact(1)),
                append("u", [testEvent(1), storedElsewhere], .any),
                append("s", testEvents(2), .exact(2)),
            ])

            #expect(try results[0].get() == AppendResult(firstVersion: 2, lastVersion: 2, firstPosition: 3, lastPosition: 3))
            #expect(results[1].failure as? WrongExpectedVersion
                == WrongExpectedVersion(stream: "s", expected: .exact(1), actual: 2))
            #expect((results[2].failure as? PyreError)?.message.contains("already stored in stream 'other'") == true)
            #expect(try results[3].get() == AppendResult(firstVersion: 3, lastVersion: 4, firstPosition: 4, lastPosition: 5))

            #expect(try await store.everything().map(\.stream) == ["s", "s", "other", "s", "s", "s"])
            #expect(try await store.version(of: "u") == nil)
            #expect(store.appendSignal.pulses == pulses + 1, "one batch, applied in one transaction")
        }
    }

    @Test func aRetryInTheSameBatchAsTheOriginalGetsTheOriginalResult() async throws {
        try await withTemporaryStore { (store) async throws in
            let events = testEvents(3)
            let results = await store.writer.commit([
                append("s", events, .noStream),
                append("s", events, .noStream),
                append("s", testEvents(1), .exact(2)),
            ])

            let original = AppendResult(firstVersion: 0, lastVersion: 2, firstPosition: 0, lastPosition: 2)
            #expect(try results[0].get() == original)
            #expect(try results[1].get() == original)
            #expect(try results[2].get() == AppendResult(firstVersion: 3, lastVersion: 3, firstPosition: 3, lastPosition: 3))
            #expect(try await store.everything().count == 4)
        }
    }

    @Test func aClosedStoreRefusesAppendsAndWritesNothing() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let path = storeFile(in: directory)
            let store = try SQLiteEventStore(path: path)
            _ = try await store.append(to: "s", testEvents(1), expected: .noStream)
            await store.close()
            let error = await #expect(throws: PyreError.self) {
                try await store.append(to: "s", testEvents(1), expected: .exact(0))
            }
            #expect(error?.message.contains("is closed") == true)
            let reopened = try SQLiteEventStore(path: path)
            #expect(try await reopened.everything().count == 1)
        }
    }
}

/// One append a test appender tried, and what it knows the outcome must be.
private struct Attempt: Sendable {
    var stream: String
    var ids: [UUID]
    var expected: ExpectedVersion
    /// For an append made with a deliberately stale expected version: the stream's real version.
    var conflictsWithActual: Int64?
    var outcome: Result<AppendResult, any Error>

    var failure: (any Error)? {
        if case .failure(let error) = outcome { return error }
        return nil
    }
}

extension GroupCommitTests {
    /// Appender `n` races everyone to create "race", then alternates between a stream shared
    /// with other appenders (any version) and its own stream (exact versions, every third of
    /// them deliberately one behind).
    fileprivate static func twentyAppends(by n: Int, to store: SQLiteEventStore) async -> [Attempt] {
        var attempts: [Attempt] = []
        let own = "own-\(n)"
        var ownVersion: Int64?
        for index in 0..<20 {
            let event = testEvent(n * 100 + index)
            let stream: String
            let expected: ExpectedVersion
            var conflictsWithActual: Int64?
            switch index {
            case 0:
                (stream, expected) = ("race", .noStream)
            case _ where !index.isMultiple(of: 2):
                (stream, expected) = ("shared-\(n % 4)", .any)
            case _ where index.isMultiple(of: 6):
                (stream, expected) = (own, .exact((ownVersion ?? 0) - 1))
                conflictsWithActual = ownVersion
            default:
                (stream, expected) = (own, ownVersion.map { .exact($0) } ?? .noStream)
            }
            let outcome: Result<AppendResult, any Error>
            do {
                outcome = .success(try await store.append(to: stream, [event], expected: expected))
            } catch {
                outcome = .failure(error)
            }
            if stream == own, case .success(let result) = outcome {
                ownVersion = result.lastVersion
            }
            attempts.append(Attempt(stream: stream, ids: [event.id], expected: expected,
                                    conflictsWithActual: conflictsWithActual, outcome: outcome))
        }
        return attempts
    }
}

private func append(_ stream: String, _ events: [NewEvent], _ expected: ExpectedVersion) -> SQLiteAppend {
    SQLiteAppend(stream: stream, events: events, expected: expected, now: Date())
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
