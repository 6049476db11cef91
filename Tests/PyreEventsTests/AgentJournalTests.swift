import Foundation
import PyreCore
import PyreEvents
import Testing

@Suite("Agent journal")
struct AgentJournalTests {
    /// One event of every `AgentEvent` case, with sub-second dates.
    static func everyCase() -> [AgentEvent] {
        let id = ServerID("web-2-8f2c")
        let server = ServerInfo(
            id: id, service: "web", generation: 2,
            image: ImageDigest("sha256:" + String(repeating: "ab", count: 32)), configHash: "c0ffee",
            address: "127.0.2.7", port: 8080, createdAt: Date(timeIntervalSince1970: 1_700_000_000.123456),
            state: .exited(status: 3), imageView: URL(fileURLWithPath: "/var/lib/pyre/images/ab"))
        let now = Date()
        return [
            .deploymentStarted(deployment: 2, trigger: .phoenix, services: ["web", "worker"], at: now),
            .serverCreated(deployment: 2, server: server),
            .serverHealthy(deployment: 2, id: id, at: now),
            .serverFailed(deployment: 2, id: id, reason: "health check timed out", output: ["booting", "oops"], at: now),
            .serverPublished(id: id, at: now),
            .serverUnpublished(id: id, reason: "replaced", at: now),
            .serverDrained(id: id, at: now),
            .serverDestroyed(id: id, reason: "replaced by web-3-0001", at: now),
            .deploymentCompleted(deployment: 2, at: now),
            .deploymentFailed(deployment: 3, reason: "web-3-0001 failed its health gate", at: now),
        ]
    }

    @Test func everyCaseRoundTrips() async throws {
        try await withTemporaryStore { (store) async throws in
            let events = Self.everyCase()
            // Guards the sample: a new AgentEvent case needs a line above.
            #expect(Set(events.map(\.typeName)).count == 10)
            let journal = AgentJournal(store: store)
            try await journal.record(Array(events.prefix(4)))
            try await journal.record(Array(events.dropFirst(4)))

            #expect(try await journal.replay() == events)
            let stored = try await store.read(stream: AgentJournal.streamName, from: 0, limit: 100, direction: .forward)
            #expect(stored.map(\.type) == events.map(\.typeName))
        }
    }

    @Test func replaySurvivesReopening() async throws {
        try await withTemporaryDirectory { (directory) async throws in
            let events = Self.everyCase()
            let first = try SQLiteEventStore(path: storeFile(in: directory))
            try await AgentJournal(store: first).record(events)
            await first.close()
            let reopened = try SQLiteEventStore(path: storeFile(in: directory))
            #expect(try await AgentJournal(store: reopened).replay() == events)
            await reopened.close()
        }
    }

    @Test(arguments: [0, 1, 999, 2_000, 2_345])
    func replayPagesThroughLongHistories(_ count: Int) async throws {
        try await withTemporaryStore { (store) async throws in
            let events = (0..<count).map { AgentEvent.deploymentCompleted(deployment: $0, at: Date()) }
            let journal = AgentJournal(store: store)
            try await journal.record(events)
            #expect(try await journal.replay() == events)
        }
    }

    @Test func recordingNothingWritesNothing() async throws {
        try await withTemporaryStore { (store) async throws in
            try await AgentJournal(store: store).record([])
            #expect(try await store.version(of: AgentJournal.streamName) == nil)
        }
    }

    @Test func unreadableHistoryIsAnError() async throws {
        try await withTemporaryStore { (store) async throws in
            _ = try await store.append(to: AgentJournal.streamName,
                                       [NewEvent(type: "FromTheFuture", data: Data(#"{"warp":9}"#.utf8))],
                                       expected: .any)
            let error = await #expect(throws: PyreError.self) { try await AgentJournal(store: store).replay() }
            #expect(error?.message.contains("FromTheFuture at version 0") == true)
        }
    }
}
