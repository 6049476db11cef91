import Foundation
import PyreCore

/// Stores and replays the agent's ``AgentEvent`` history in one stream of an event store.
public struct AgentJournal: Sendable {
    /// The stream that holds the agent's history.
    public static let streamName = "$pyre-agent"
    /// How many events one read fetches while replaying; memory use is bounded by it, not the history's length.
    static let pageSize = 1_000

    private let store: any EventStore

    public init(store: any EventStore) {
        self.store = store
    }

    /// Appends `events` in one atomic append, each JSON-encoded with its ``AgentEvent/typeName`` as type.
    public func record(_ events: [AgentEvent]) async throws {
        guard !events.isEmpty else { return }
        let encoder = JSONEncoder()
        // Default date encoding keeps every bit of a Date, so replay gives back equal events.
        encoder.outputFormatting = .sortedKeys
        let newEvents = try events.map { event in
            NewEvent(id: .random(), type: event.typeName, data: try encoder.encode(event))
        }
        // A step that happened must be recorded even while the deploy that took it is being
        // cancelled (the agent stopping): the write runs in a task that cancellation does not reach.
        let store = self.store
        _ = try await Task { try await store.append(to: Self.streamName, newEvents, expected: .any) }.value
    }

    /// Every recorded event, oldest first.
    public func replay() async throws -> [AgentEvent] {
        let decoder = JSONDecoder()
        var history: [AgentEvent] = []
        var next: Int64 = 0
        while true {
            let page = try await store.read(stream: Self.streamName, from: next, limit: Self.pageSize,
                                            direction: .forward)
            for recorded in page {
                history.append(try Self.decode(recorded, with: decoder))
            }
            guard page.count == Self.pageSize, let last = page.last else { return history }
            next = last.version + 1
        }
    }

    private static func decode(_ recorded: RecordedEvent, with decoder: JSONDecoder) throws -> AgentEvent {
        do {
            return try decoder.decode(AgentEvent.self, from: recorded.data)
        } catch {
            throw PyreError(.events, "event \(recorded.type) at version \(recorded.version) of '\(streamName)' "
                + "cannot be read back (\(error)); it was probably written by another Pyre version: "
                + "run the Pyre version that wrote this history")
        }
    }
}
