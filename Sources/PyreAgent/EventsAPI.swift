import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import PyreAPI
import PyreCore
import PyreEvents

/// The event store's HTTP API, served on the system address (`events.ZONE`) for servers and
/// the CLI. Every route needs the events bearer token (`STATE/events-token`, given to
/// servers as `PYRE_EVENTS_TOKEN`). Documented in `docs/events-api.yaml`.
package enum EventsAPI {
    /// Larger appends are refused with 413: events are facts, not files.
    static let bodyLimit = 1 << 20
    /// The default and the most a read may ask for; larger reads are streamed (`EventPages`).
    static let defaultReadLimit = 1_000
    static let readLimit = 100_000

    /// Over TLS with `tls`'s certificate, for servers across a network.
    static func application(
        store: any EventStore, token: String, host: String, port: Int, tls: NetworkTLS? = nil,
        subscribers: SubscriberRegistry, metrics: AgentMetrics? = nil, logger: Logger,
        onListening: @escaping @Sendable (SocketAddress) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let server: HTTPServerBuilder = if let tls {
            try .tls(.http1(), tlsConfiguration: try tls.serverConfiguration())
        } else {
            .http1()
        }
        return Application(router: router(store: store, token: token, subscribers: subscribers, metrics: metrics), server: server,
                    configuration: .init(address: .hostname(host, port: port), serverName: "pyre-events"),
                    onServerRunning: { channel in
                        if let address = channel.localAddress { await onListening(address) }
                    },
                    logger: logger)
    }

    /// Serves the API on loopback, on a port the system picks, until cancelled: the
    /// replay benchmark runs it this way, without the rest of an agent.
    package static func serveOnLoopback(store: any EventStore, token: String, logger: Logger,
                                        onPort: @escaping @Sendable (Int) -> Void) async throws {
        let app = try application(store: store, token: token, host: "127.0.0.1", port: 0, subscribers: SubscriberRegistry(),
                              logger: logger) { address in onPort(address.port ?? 0) }
        try await app.runService()
    }

    /// Every route of the events API.
    static func router(store: any EventStore, token: String, subscribers: SubscriberRegistry,
                       metrics: AgentMetrics? = nil) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: BearerTokenMiddleware(token: token, hint: "servers get it as PYRE_EVENTS_TOKEN; the CLI reads STATE/events-token"))
        router.on(EventsRoutes.append) { request, context in
            try await answering {
                let stream = try context.parameters.require("stream")
                let expected = try expectedVersion(request.headers[.init("Expected-Version")!])
                var request = request
                let events = try EventsJSON.newEvents(from: try await request.collectBody(upTo: bodyLimit))
                try asBadRequest { try EventValidation.checkAppend(to: stream, events, expected: expected) }
                let start = ContinuousClock.now
                let result = try await store.append(to: stream, events, expected: expected)
                metrics?.eventsAppended(events.count, took: ContinuousClock.now - start)
                return json(result, status: .created)
            }
        }
        router.on(EventsRoutes.readStream) { request, context in
            try await readStream(try context.parameters.require("stream"), request, store: store, metrics: metrics)
        }
        router.on(EventsRoutes.readAll) { request, _ in
            try await readAll(request, store: store, metrics: metrics)
        }
        router.on(EventsRoutes.subscribe) { request, _ in
            try await subscribe(request, store: store, subscribers: subscribers, metrics: metrics)
        }
        router.on(EventsRoutes.saveSnapshot) { request, context in
            try await answering {
                let stream = try context.parameters.require("stream")
                var request = request
                let snapshot = try EventsJSON.snapshot(of: stream, from: try await request.collectBody(upTo: bodyLimit))
                try asBadRequest { try EventValidation.checkSnapshot(snapshot) }
                try await store.saveSnapshot(snapshot)
                return Response(status: .noContent)
            }
        }
        router.on(EventsRoutes.latestSnapshot) { _, context in
            try await answering {
                let stream = try context.parameters.require("stream")
                guard let snapshot = try await store.latestSnapshot(of: stream) else {
                    return problem(.notFound, "not_found", "stream '\(stream)' has no snapshot; replay it from version 0")
                }
                var body = ByteBuffer()
                EventsWireWriter.write(snapshot, into: &body)
                return json(body: body)
            }
        }
        return router
    }

    /// A page of `stream`'s events (`from`, `direction`, `limit`); the control API serves the
    /// same pages to the dashboard.
    static func readStream(_ stream: String, _ request: Request, store: any EventStore,
                           metrics: AgentMetrics?) async throws -> Response {
        try await answering {
            let query = request.uri.queryParameters
            let direction: ReadDirection = switch query.get("direction") {
            case nil, "forward": .forward
            case "backward": .backward
            default: throw EventsJSON.BadRequest("direction must be forward or backward")
            }
            let from = try integer(query.get("from"), name: "from") ?? (direction == .forward ? 0 : StreamVersion.end)
            let limit = try readLimit(query.get("limit"))
            let step: Int64 = direction == .forward ? 1 : -1
            metrics?.eventReadStarted(.stream)
            return try await EventPages.answer(limit: limit) { after, count in
                let start = after.map { $0.version + step } ?? from
                guard start >= 0 else { return [] }
                let page = try await store.visitEvents(EventsWirePage.self, stream: stream, from: start, limit: count,
                                                       direction: direction)
                metrics?.eventsRead(page.count)
                return page
            }
        }
    }

    /// `stream` (default `$all`) from `from` or after `Last-Event-ID`, as server-sent events;
    /// `typed: false` leaves out the `event:` lines, for a browser's `onmessage` (the dashboard).
    static func subscribe(_ request: Request, store: any EventStore, subscribers: SubscriberRegistry, metrics: AgentMetrics?,
                          typed: Bool = true) async throws -> Response {
        try await answering {
            let query = request.uri.queryParameters
            let stream = query.get("stream") ?? StreamNames.all
            if stream != StreamNames.all { try asBadRequest { try EventValidation.checkStreamName(stream) } }
            // A reconnecting EventSource sends the id of the last event it received.
            let resumeAfter = try integer(request.headers[.init("Last-Event-ID")!], name: "Last-Event-ID")
            let start = try resumeAfter.map { $0 + 1 } ?? integer(query.get("from"), name: "from") ?? 0
            let subscription = EventSubscription(store: store, stream: stream, from: start)
            metrics?.eventReadStarted(.subscription)
            return ServerSentEvents.response(subscription, registry: subscribers, typed: typed)
        }
    }

    /// A page of `$all` (`from`, `limit`).
    static func readAll(_ request: Request, store: any EventStore, metrics: AgentMetrics?) async throws -> Response {
        try await answering {
            let query = request.uri.queryParameters
            let from = try integer(query.get("from"), name: "from") ?? 0
            metrics?.eventReadStarted(.all)
            return try await EventPages.answer(limit: try readLimit(query.get("limit")), lastPosition: {
                try await store.lastPosition() ?? -1
            }) { after, count in
                let page = try await store.visitEvents(EventsWirePage.self, stream: nil,
                                                       from: after.map { $0.position + 1 } ?? from,
                                                       limit: count, direction: .forward)
                metrics?.eventsRead(page.count)
                return page
            }
        }
    }

    /// Maps failures to statuses: 400 for a malformed request, 409 for a version mismatch or
    /// an event id stored elsewhere,
    /// 413 above the body limit, 500 (with the store's message) for anything else.
    private static func answering(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as EventsJSON.BadRequest {
            return problem(.badRequest, "bad_request", error.message)
        } catch let error as WrongExpectedVersion {
            return json(EventsAPITypes.VersionConflict(message: error.description, actualVersion: error.actual),
                        status: .conflict)
        } catch is NIOTooManyBytesError {
            return problem(.contentTooLarge, "too_large", "the body is over \(bodyLimit) bytes; append fewer or smaller events per request")
        } catch let error as PyreError where error.code == .eventIDTaken {
            return problem(.conflict, error.code.rawValue, error.message)
        } catch let error as PyreError {
            return problem(.internalServerError, error.code.rawValue, error.message)
        }
    }

    /// The store's own input checks, run first so their refusals are the client's 400s.
    private static func asBadRequest(_ check: () throws -> Void) throws {
        do { try check() } catch let error as PyreError { throw EventsJSON.BadRequest(error.message) }
    }

    private static func expectedVersion(_ header: String?) throws -> ExpectedVersion {
        switch header?.lowercased() {
        case nil, "any": return .any
        case "no-stream", "no_stream": return .noStream
        case "stream-exists", "stream_exists": return .streamExists
        case let text?:
            guard let version = Int64(text), version >= 0 else {
                throw EventsJSON.BadRequest("Expected-Version must be any, no-stream, stream-exists or a version (0 or more), got '\(text)'")
            }
            return .exact(version)
        }
    }

    private static func integer(_ text: String?, name: String) throws -> Int64? {
        guard let text else { return nil }
        guard let value = Int64(text), value >= 0 else {
            throw EventsJSON.BadRequest("\(name) must be a whole number, 0 or more, got '\(text)'")
        }
        return value
    }

    private static func readLimit(_ text: String?) throws -> Int {
        guard let text else { return defaultReadLimit }
        guard let value = Int(text), (1...readLimit).contains(value) else {
            throw EventsJSON.BadRequest("limit must be between 1 and \(readLimit), got '\(text)'")
        }
        return value
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        json(body: EventsJSON.encode(value), status: status)
    }

    /// An answer whose JSON is written already.
    static func json(body: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }

    static func problem(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        json(ErrorBody(code: code, message: message), status: status)
    }
}
