import Foundation
import Hummingbird
import NIOCore
import NIOPosix
import PyreAPI
import PyreCore
import PyreLogs

/// `GET /v1/logs` on the control API: a query of the log store, or with `follow=true` the
/// matches as Server-Sent Events, first the newest `limit`, then each new one as it is
/// committed. Documented in `docs/control-api.yaml`.
enum LogsAPI {
    static func addRoute(to router: Router<BasicRequestContext>, store: LogStore, subscribers: SubscriberRegistry) {
        router.on(ControlRoutes.logs) { request, _ in
            let parameters = FormQuery.parameters(request.uri.query)
            let query: LogQuery
            do {
                query = try LogQueryParameters.query(parameters)
                _ = try store.query(LogQuery(grep: query.grep, limit: 0))
            } catch let error as PyreError {
                return try jsonResponse(ErrorBody(code: "bad_request", message: error.message), status: .badRequest)
            }
            if parameters["follow"] == "true" { return follow(query, store: store, subscribers: subscribers) }
            let records = try await offThePool { try store.query(query) }
            return try jsonResponse(LogsPage(records: records.map(LogLine.init), lastSequence: store.lastSequence))
        }
    }

    /// The newest matches, then every new match as it is committed.
    private static func follow(_ query: LogQuery, store: LogStore, subscribers: SubscriberRegistry) -> Response {
        ServerSentEvents.response(registry: subscribers) { send in
            var cursor = query.afterSequence ?? store.lastSequence
            if query.afterSequence == nil {
                let newest = try await offThePool { try store.query(query) }
                for record in newest { await send(try frame(record)) }
                cursor = max(cursor, newest.last?.sequence ?? 0)
            }
            var next = query
            next.order = .oldest
            next.limit = 1_000
            while !Task.isCancelled {
                next.afterSequence = cursor
                // Read before the scan, so a record committed during it is never skipped.
                let pulses = store.commits.pulses
                let scannedUpTo = store.lastSequence
                let records = try await offThePool { [next] in try store.query(next) }
                for record in records { await send(try frame(record)) }
                if records.count == next.limit {
                    cursor = records.last!.sequence
                } else {
                    cursor = max(scannedUpTo, records.last?.sequence ?? 0)
                    await store.commits.wait(after: pulses, timeout: ServerSentEvents.heartbeat)
                }
            }
        }
    }

    private static func frame(_ record: LogRecord) throws -> String {
        let data = try JSONEncoder.pyre.encode(LogLine(record))
        return ServerSentEvents.frame(id: "\(record.sequence)", data: String(decoding: data, as: UTF8.self))
    }

    /// Scans are blocking reads of mapped files: on NIO's blocking-work pool, not on the
    /// few threads every task of the agent shares.
    private static func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(work)
    }
}
