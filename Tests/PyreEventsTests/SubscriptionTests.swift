import Foundation
import PyreEvents
import Testing

@Suite("Subscriptions")
struct SubscriptionTests {
    /// Takes `count` events from a subscription.
    private func take(_ count: Int, from subscription: EventSubscription) async throws -> [RecordedEvent] {
        var taken: [RecordedEvent] = []
        for try await event in subscription {
            taken.append(event)
            if taken.count == count { break }
        }
        return taken
    }

    @Test(arguments: StoreBackend.allCases)
    func catchesUpThenFollowsLiveAppendsWithoutGapsOrDuplicates(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            _ = try await store.append(to: "a", testEvents(700), expected: .any)
            let subscription = EventSubscription(store: store, stream: "$all", from: 0, pollInterval: .seconds(30))
            async let received = take(1_000, from: subscription)
            for batch in 0..<30 {
                _ = try await store.append(to: batch % 2 == 0 ? "a" : "b", testEvents(10), expected: .any)
            }
            let positions = try await received.map(\.position)
            #expect(positions == Array(0..<1_000))
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func aSubscriberOfAllSeesEveryEventOfEightWritersOnceInPositionOrder(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let subscription = EventSubscription(store: store, stream: "$all", from: 0, pollInterval: .seconds(30))
            async let received = take(8 * 25 * 2, from: subscription)
            var appended: [UUID] = []
            try await withThrowingTaskGroup(of: [UUID].self) { group in
                for writer in 0..<8 {
                    group.addTask {
                        var ids: [UUID] = []
                        for _ in 0..<25 {
                            let events = testEvents(2)
                            _ = try await store.append(to: "writer-\(writer)", events, expected: .any)
                            ids += events.map(\.id)
                        }
                        return ids
                    }
                }
                for try await ids in group { appended += ids }
            }
            let events = try await received
            #expect(events.map(\.position) == Array(0..<Int64(events.count)))
            #expect(Set(events.map(\.id)) == Set(appended))
            #expect(events.count == appended.count)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func streamSubscriptionResumesAfterTheLastVersionSeen(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            _ = try await store.append(to: "a", testEvents(5), expected: .any)
            _ = try await store.append(to: "b", testEvents(5), expected: .any)
            let first = EventSubscription(store: store, stream: "a", from: 0)
            let seen = try await take(3, from: first)
            #expect(seen.map(\.version) == [0, 1, 2])
            let resumed = EventSubscription(store: store, stream: "a", from: first.cursor(of: seen[2]) + 1)
            async let rest = take(4, from: resumed)
            _ = try await store.append(to: "a", testEvents(2), expected: .any)
            let versions = try await rest.map(\.version)
            #expect(versions == [3, 4, 5, 6])
            #expect(try await rest.allSatisfy { $0.stream == "a" })
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func cancellingAWaitingSubscriptionEndsIt(_ backend: StoreBackend) async throws {
        try await withStore(backend) { (store) async throws in
            let subscription = EventSubscription(store: store, stream: "$all", from: 0, pollInterval: .seconds(30))
            let task = Task { try await take(1, from: subscription) }
            try await Task.sleep(for: .milliseconds(100))
            task.cancel()
            #expect(try await task.value.isEmpty)
        }
    }
}
