import Hummingbird
import NIOCore
import PyreEvents

/// A read of the events API, `{"events":[…]}` (with `"lastPosition"` for `$all`), taken from
/// the store in pages of `storePage` events and written out as each page arrives. A read of
/// 100,000 events then holds two pages at a time on the agent (one sent, the next read), and
/// the client starts parsing while the agent is still reading. Reads that fit in one page are
/// answered with a length; longer ones are chunked.
enum EventPages {
    static let storePage = 1_000

    /// At most `count` events after the one whose version and position `after` gives (nil: the
    /// first page), already written for the wire, in the parts the store read them in.
    typealias Read = @Sendable (_ after: (version: Int64, position: Int64)?, _ count: Int) async throws -> [EventsWirePage]

    /// The first page is read before the answer starts, so a refusal (a bad stream name, a
    /// failing store) is still an error status. A store failure after that cuts the answer
    /// short, which no client takes for a whole page: the JSON does not close.
    static func answer(limit: Int, lastPosition: (@Sendable () async throws -> Int64)? = nil,
                       read: @escaping Read) async throws -> Response {
        let page = Page(try await read(nil, min(limit, storePage)), first: true)
        var head = ByteBuffer()
        head.writeStaticString(#"{"events":["#)
        guard page.count == storePage, limit > storePage, let last = page.last else {
            var buffer = head
            page.write(into: &buffer)
            try await finish(&buffer, lastPosition: lastPosition)
            return EventsAPI.json(body: buffer)
        }
        let first = page
        let body = ResponseBody { [head] writer in
            var page = first
            var remaining = limit - page.count
            // The store reads (and writes out) the next page while this one is sent: on two
            // cores the reading and the sending then overlap instead of adding up.
            var next: Task<[EventsWirePage], any Error>? = Task { [remaining] in try await read(last, min(remaining, storePage)) }
            defer { next?.cancel() }
            try await writer.write(head)
            while let reading = next {
                for part in page.parts { try await writer.write(part) }
                page = Page(try await reading.value)
                remaining -= page.count
                next = nil
                if page.count == storePage, remaining > 0, let last = page.last {
                    next = Task { [remaining] in try await read(last, min(remaining, storePage)) }
                }
            }
            var tail = ByteBuffer()
            page.write(into: &tail)
            try await finish(&tail, lastPosition: lastPosition)
            try await writer.write(tail)
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: body)
    }

    /// One page's parts. Every event is written after a comma; the answer's first comma is
    /// dropped, so the first page is made with `first`.
    private struct Page {
        private(set) var parts: [ByteBuffer] = []
        private(set) var count = 0
        private(set) var last: (version: Int64, position: Int64)?

        init(_ read: [EventsWirePage], first: Bool = false) {
            for part in read where part.count > 0 {
                var bytes = part.bytes
                if first && count == 0 { bytes.moveReaderIndex(forwardBy: 1) }
                parts.append(bytes)
                count += part.count
                last = part.last
            }
        }

        func write(into buffer: inout ByteBuffer) {
            for var part in parts { buffer.writeBuffer(&part) }
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
