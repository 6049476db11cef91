import Foundation
import Hummingbird
import NIOCore
import PyreEvents
import Synchronization

/// Server-Sent Events. A subscription's events: `id` is the event's cursor (its version, or
/// its position for `$all`), `event` its type, `data` the event as JSON. A comment line every
/// 15 s keeps proxies from closing a quiet stream and finds clients that went away.
/// `pyre logs --follow` uses the same framing for log records.
enum ServerSentEvents {
    static let heartbeat = Duration.seconds(15)

    /// One event: `id` is the client's resume cursor, `event` its type.
    static func frame(id: String, event: String? = nil, data: String) -> String {
        "id: \(id)\n" + (event.map { "event: \($0)\n" } ?? "") + "data: \(data)\n\n"
    }

    /// A subscription's events (see above); without `typed`, no `event:` lines.
    static func response(_ subscription: EventSubscription, registry: SubscriberRegistry, typed: Bool = true) -> Response {
        response(registry: registry) { send in
            for try await event in subscription {
                var buffer = ByteBuffer()
                EventsWireWriter.write(event, into: &buffer)
                let data = String(buffer: buffer)
                await send(frame(id: "\(subscription.cursor(of: event))", event: typed ? event.type : nil, data: data))
            }
        }
    }

    /// Streams the frames `produce` sends until it returns or throws (an `error` event), or
    /// the client goes away (which cancels it).
    static func response(
        registry: SubscriberRegistry,
        produce: @escaping @Sendable (_ send: @escaping @Sendable (String) async -> Void) async throws -> Void
    ) -> Response {
        let (frames, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingOldest(1_000))
        let producer = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        try await produce { frame in await send(frame, continuation) }
                    } catch {
                        continuation.yield("event: error\ndata: \(String(describing: error))\n\n")
                    }
                    continuation.finish()
                }
                group.addTask {
                    while (try? await Task.sleep(for: heartbeat)) != nil {
                        continuation.yield(": keep-alive\n\n")
                    }
                }
                await group.next()
                group.cancelAll()
            }
        }
        let id = registry.add(continuation)
        continuation.onTermination = { _ in
            producer.cancel()
            registry.remove(id)
        }
        let body = ResponseBody { writer in
            for await frame in frames {
                try await writer.write(ByteBuffer(string: frame))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    /// Waits while the client is behind (the buffer is full) rather than dropping events.
    private static func send(_ frame: String, _ continuation: AsyncStream<String>.Continuation) async {
        while case .dropped = continuation.yield(frame) {
            if Task.isCancelled { return }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// The open event streams, so that the agent's shutdown can end them instead of waiting
/// for clients that never hang up.
public final class SubscriberRegistry: Sendable {
    private let open = Mutex<[UUID: AsyncStream<String>.Continuation]>([:])

    public init() {}

    func add(_ continuation: AsyncStream<String>.Continuation) -> UUID {
        let id = UUID()
        open.withLock { $0[id] = continuation }
        return id
    }

    func remove(_ id: UUID) { _ = open.withLock { $0.removeValue(forKey: id) } }

    func finishAll() {
        for continuation in open.withLock({ Array($0.values) }) { continuation.finish() }
    }
}
