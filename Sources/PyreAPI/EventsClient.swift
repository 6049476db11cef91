import Foundation
import PyreCore

/// The CLI's side of the events API (`pyre events`).
public struct EventsClient: Sendable {
    let api: APIClient

    /// Finds the running agent's events API through `STATE/agent.json` and `STATE/events-token`.
    public init(state: StateDirectory) throws {
        let endpoint = try AgentEndpoint.read(from: state.agentFile)
        guard let url = endpoint.events else {
            throw PyreError(.agent, "the running agent has no events API; restart it with this version of pyre")
        }
        api = APIClient(url: url, token: try state.readEventsToken(), name: "the events API") { status in
            status == .unauthorized ? .unauthorized : .events
        }
    }

    /// Up to `limit` events of `stream` (or `$all`) from `start`.
    public func read(_ stream: String, from start: Int64, limit: Int) async throws -> [EventsAPITypes.RecordedEvent] {
        let query = [("from", "\(start)"), ("limit", "\(limit)")]
        let request = stream == "$all" ? EventsRoutes.readAll.request(query: query)
            : EventsRoutes.readStream.request(stream, query: query)
        return try await api.json(request, as: EventsAPITypes.Page.self, timeout: .seconds(30)).events
    }

    /// Follows `stream` (or `$all`) from `start` over Server-Sent Events until cancelled.
    public func follow(_ stream: String, from start: Int64, onEvent: (EventsAPITypes.RecordedEvent) -> Void) async throws {
        let request = EventsRoutes.subscribe.request(query: [("stream", stream), ("from", "\(start)")])
        try await api.serverSentEvents(request) { data in
            guard let event = try? JSONDecoder.pyre.decode(EventsAPITypes.RecordedEvent.self, from: Data(data.utf8)) else { return }
            onEvent(event)
        }
    }
}
