import Hummingbird
import NIOCore
import PyreEvents

/// A read of the events API, `{"events":[…]}` (with `"lastPosition"` for `$all`), taken from
/// the store in pages of `storePage` events and written out as each page arrives. A read of
/// 100,000 events then holds two pages at a time on the agent (one written, the next read),
/// and the client starts parsing while the agent is still reading. Reads that fit in one page
/// are answered with a length; longer ones are chunked.
enum EventPages {
    static let storePage = 1_000

    /// The events after `after` (nil: the first page), at most `count` of them.
    typealias Read = @Sendable (_ after: RecordedEvent?, _ count: Int) async throws -> [RecordedEvent]

    /// The first page is read before the answer starts, so a refusal (a bad stream name, a
    /// failing store) is still an error status. A store failure after that cuts the answer
    /// short, which no client takes for a whole page: the JSON does not close.
    static func answer(limit: Int, lastPosition: (@Sendable () async throws -> Int64)? = nil,
                       read: @escaping Read) async throws -> Response {
        let first = try await read(nil, min(limit, storePage))
        var buffer = ByteBuffer()
        // Room for small events without growing (a grown buffer is copied).
        buffer.reserveCapacity(first.count * 256 + 64)
        buffer.writeStaticString(#"{"events":["#)
        write(first, into: &buffer, first: true)
        guard first.count == storePage, limit > storePage, let last = first.last else {
            try await finish(&buffer, lastPosition: lastPosition)
            return EventsAPI.json(body: buffer)
        }
        let body = ResponseBody { [buffer] writer in
            var buffer = buffer
            var remaining = limit - first.count
            // The store reads the next page while this one is written and sent: on two cores
            // the read and the writing then overlap instead of adding up.
            var next: Task<[RecordedEvent], any Error>? = Task { [remaining] in try await read(last, min(remaining, storePage)) }
            defer { next?.cancel() }
            while let reading = next {
                try await writer.write(buffer)
                buffer.clear()
                let events = try await reading.value
                remaining -= events.count
                next = nil
                if events.count == storePage, remaining > 0, let last = events.last {
                    next = Task { [remaining] in try await read(last, min(remaining, storePage)) }
                }
                write(events, into: &buffer, first: false)
            }
            try await finish(&buffer, lastPosition: lastPosition)
            try await writer.write(buffer)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: body)
    }

    private static func write(_ events: [RecordedEvent], into buffer: inout ByteBuffer, first: Bool) {
        var recent = EventsWireWriter.RecentTimestamp()
        for (index, event) in events.enumerated() {
            if index > 0 || !first { buffer.writeStaticString(",") }
            EventsWireWriter.write(event, into: &buffer, recent: &recent)
        }
    }

    /// Closes the array; `$all` says the store's last position as of the end of the read.
    private static func finish(_ buffer: inout ByteBuffer, lastPosition: (@Sendable () async throws -> Int64)?) async throws {
        buffer.writeStaticString("]")
        if let lastPosition {
            buffer.writeStaticString(#","lastPosition":"#)
            EventsWireWriter.writeInteger(try await lastPosition(), into: &buffer)
        }
        buffer.writeStaticString("}")
    }
}
