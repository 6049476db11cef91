import Foundation
import PyreCore
import PyreEvents
import Testing

@Suite("Concurrent appends")
struct ConcurrencyTests {
    @Test(arguments: StoreBackend.allCases)
    func sixteenRacersOnOneExpectedVersionLetExactlyOneWin(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            _ = try await store.append(to: "race", testEvents(3), expected: .noStream)

            let outcomes = await withTaskGroup(of: Result<AppendResult, any Error>.self) { group in
                for racer in 0..<16 {
                    group.addTask {
                        do {
                            return .success(try await store.append(to: "race", [testEvent(racer)], expected: .exact(2)))
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }

            let winners = outcomes.compactMap { try? $0.get() }
            #expect(winners == [AppendResult(firstVersion: 3, lastVersion: 3, firstPosition: 3, lastPosition: 3)])
            let losers = outcomes.compactMap { outcome -> WrongExpectedVersion? in
                guard case .failure(let error) = outcome else { return nil }
                return error as? WrongExpectedVersion
            }
            #expect(losers.count == 15)
            #expect(losers.allSatisfy { $0 == WrongExpectedVersion(stream: "race", expected: .exact(2), actual: 3) })
            #expect(try await store.version(of: "race") == 3)
            #expect(try await store.everything().count == 4)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func concurrentWritersToManyStreamsLeaveNoGaps(_ backend: StoreBackend) async throws {
        let batchSizes = (0..<25).map { $0 % 3 + 1 }
        try await withStore(backend) { (store) async throws in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        for size in batchSizes {
                            _ = try await store.append(to: "writer-\(writer)", testEvents(size), expected: .any)
                        }
                    }
                }
                try await group.waitForAll()
            }

            let all = try await store.everything()
            #expect(all.map(\.position) == Array(0..<Int64(all.count)))
            for writer in 0..<8 {
                let versions = all.filter { $0.stream == "writer-\(writer)" }.map(\.version)
                #expect(versions == Array(0..<Int64(versions.count)))
                #expect(versions.count == batchSizes.reduce(0, +))
            }
        }
    }
}
