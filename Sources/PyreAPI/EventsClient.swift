import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import PyreCore

/// The events API's client: the CLI's side (`pyre events`), and a Swift service's replay.
public struct EventsClient: Sendable {
    let api: APIClient

    /// Finds the running agent's events API through `STATE/agent.json` and `STATE/events-token`;
    /// an `https://` one is checked against the agent's own CA when it made one.
    public init(state: StateDirectory) throws {
        let endpoint = try AgentEndpoint.read(from: state.agentFile)
        guard let url = endpoint.events else {
            throw PyreError(.agent, "the running agent has no events API; restart it with this version of pyre")
        }
        let ca = url.hasPrefix("https://") ? try? String(contentsOf: state.servedCAFile, encoding: .utf8) : nil
        self.init(url: url, token: try state.readEventsToken(), caPEM: ca)
    }

    /// A client of the events API at `url` (`PYRE_EVENTS_URL` on a server) with its token,
    /// checking an `https://` server against `caPEM` (`PYRE_CA`) when given.
    public init(url: String, token: String, caPEM: String? = nil) {
        api = APIClient(url: url, token: token, name: "the events API", caPEM: caPEM) { status in
            status == .unauthorized ? .unauthorized : .events
        }
    }

    /// Every event of `stream` (or `$all`) from `start` up to the last one when each page
    /// was read, in pages of `pageSize` handed to `onPage` in order (10,000 by default: the
    /// agent streams them, and each request costs about as much as 200 events). The next page is asked
    /// for while `onPage` handles this one (versions and positions have no gaps, so its
    /// start is known): the agent's work and the client's overlap, and two pages at most are
    /// held. Returns the number of events replayed.
    @discardableResult
    public func replay(_ stream: String, from start: Int64 = 0, pageSize: Int = 10_000,
                       onPage: ([ReplayedEvent]) async throws -> Void) async throws -> Int {
        guard api.caPEM != nil else {
            return try await replay(stream, from: start, pageSize: pageSize, on: HTTPClient.shared, onPage: onPage)
        }
        let client = try api.makeHTTPClient()
        do {
            let replayed = try await replay(stream, from: start, pageSize: pageSize, on: client, onPage: onPage)
            try await client.shutdown()
            return replayed
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func replay(_ stream: String, from start: Int64, pageSize: Int, on client: HTTPClient,
                        onPage: ([ReplayedEvent]) async throws -> Void) async throws -> Int {
        let api = self.api
        @Sendable func page(_ from: Int64) async throws -> ByteBuffer {
            let query = [("from", "\(from)"), ("limit", "\(pageSize)")]
            let request = stream == "$all" ? EventsRoutes.readAll.request(query: query)
                : EventsRoutes.readStream.request(stream, query: query)
            return try await api.body(request, on: client, timeout: .seconds(60), upTo: 1 << 30)
        }
        var next = Task { try await page(start) }
        defer { next.cancel() }
        var from = start
        var replayed = 0
        while true {
            let body = try await next.value
            from += Int64(pageSize)
            let following = from
            next = Task { try await page(following) }
            // The events' documents are slices of the page, which shares the buffer's storage.
            let events = try EventsPageReader.events(in: body.getData(at: body.readerIndex, length: body.readableBytes, byteTransferStrategy: .noCopy) ?? Data())
            guard let last = events.last else { return replayed }
            guard (stream == "$all" ? last.position : last.version) == from - Int64(pageSize) + Int64(events.count) - 1 else {
                throw PyreError(.events, "the events API answered a page of \(stream) that does not follow on; replay again")
            }
            try await onPage(events)
            replayed += events.count
            if events.count < pageSize { return replayed }
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
