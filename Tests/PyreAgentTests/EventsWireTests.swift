import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import PyreAPI
import PyreCore
import PyreEvents
import Testing
@testable import PyreAgent

/// The events API writes events without decoding their stored JSON, in the same bytes the
/// old Codable round trip wrote, and streams reads longer than one store page.
struct EventsWireTests {
    /// What the API wrote before `EventsWireWriter`: the event as `EventsAPITypes`, its
    /// documents parsed into `JSONValue`, all of it through `EventsJSONEncoding`.
    static func oldEncoding(_ event: RecordedEvent) throws -> String {
        let api = EventsAPITypes.RecordedEvent(
            stream: event.stream, id: event.id.uuidString.lowercased(), type: event.type, version: event.version,
            position: event.position,
            recordedAt: event.recordedAt.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)),
            data: JSONValue(parsing: event.data), metadata: event.metadata.map(JSONValue.init(parsing:)) ?? .null)
        return String(decoding: try EventsJSONEncoding.encode(api), as: UTF8.self)
    }

    static func written(_ event: RecordedEvent) -> String {
        var buffer = ByteBuffer()
        EventsWireWriter.write(event, into: &buffer)
        return String(buffer: buffer)
    }

    @Test func eventsAreWrittenInTheBytesTheOldEncodingWrote() throws {
        var generator = SystemRandomNumberGenerator()
        let names = ["orders", "a/b", "quote\"d", "back\\slash", "tab\there", "ctl\u{1}x", "ünï", "Placed"]
        for _ in 0..<500 {
            // Stored as the API stores what clients send: keys sorted (JSONSerialization's order).
            let document: [String: Any] = ["name": names.randomElement()!, "B": Int.random(in: -1_000...1_000),
                                           "a/b": [true, NSNull(), "x/y"], "nested": ["k": names.randomElement()!]]
            let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
            let event = RecordedEvent(
                stream: names.randomElement()!, id: UUID(), type: names.randomElement()!, data: data,
                metadata: Bool.random(using: &generator) ? nil : Data(#"{"by":"me"}"#.utf8),
                version: Int64.random(in: 0...Int64.max), position: Int64.random(in: 0...1 << 40),
                recordedAt: Date(timeIntervalSince1970: Double(Int64.random(in: 0...4_102_444_800_000_000)) / 1_000_000))
            #expect(Self.written(event) == (try Self.oldEncoding(event)))
        }
    }

    @Test func pagesFromTheStoresFieldsHoldTheBytesOfItsEvents() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-wire-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteEventStore(path: directory.appendingPathComponent("events.sqlite"))
        let names = ["orders", "a/b", "quote\"d", "ctl\u{1}x", "ünï"]
        for (index, name) in names.enumerated() {
            let events = (0..<200).map {
                NewEvent(type: names[$0 % names.count], data: Data(#"{"n":\#($0),"s":"x\/y\n"}"#.utf8),
                         metadata: $0 % 2 == 0 ? nil : Data("{\"by\":\n\"me\"}".utf8))
            }
            _ = try await store.append(to: name, events, expected: index == 0 ? .noStream : .any)
        }
        for (stream, limit) in [(nil, 1_000), (nil, 7), ("quote\"d", 150)] {
            let events = if let stream {
                try await store.read(stream: stream, from: 0, limit: limit, direction: .forward)
            } else {
                try await store.readAll(from: 0, limit: limit)
            }
            let parts = try await store.visitEvents(EventsWirePage.self, stream: stream, from: 0, limit: limit,
                                                    direction: .forward)
            #expect(parts.map(\.count).reduce(0, +) == events.count)
            #expect(parts.last?.last?.position == events.last?.position)
            #expect(parts.map { String(buffer: $0.bytes) }.joined() == events.map { "," + Self.written($0) }.joined())
        }
    }

    @Test func timestampsAreTheFormatStylesMilliseconds() {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        for microseconds in [0, 999, 1_000, 1_764_000_000_123_999, 1_764_000_000_999_999] + (0..<2_000).map({ _ in
            Int64.random(in: 0...4_102_444_800_000_000)
        }) {
            let date = Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)
            var buffer = ByteBuffer()
            EventsWireWriter.writeTimestamp(date, into: &buffer)
            #expect(String(buffer: buffer) == date.formatted(style), "\(microseconds) µs")
        }
    }

    @Test func storedLineBreaksBecomeSpacesSoAnEventIsOneLine() throws {
        let data = Data("{\n  \"a\": [1,\r\n 2]\n}".utf8)
        let event = RecordedEvent(stream: "s", id: UUID(), type: "T", data: data, metadata: nil, version: 0, position: 0,
                                  recordedAt: Date())
        let line = Self.written(event)
        #expect(!line.contains("\n") && !line.contains("\r"))
        let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        #expect((parsed?["data"] as? [String: Any])?["a"] as? [Int] == [1, 2])
    }

    @Test func readsLongerThanAStorePageAreStreamedWhole() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pyre-wire-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteEventStore(path: directory.appendingPathComponent("events.sqlite"))
        for batch in 0..<5 {
            let events = (0..<600).map { NewEvent(type: "N", data: Data(#"{"n":\#(batch * 600 + $0)}"#.utf8)) }
            _ = try await store.append(to: batch == 4 ? "other" : "counted", events, expected: .any)
        }
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        try await withThrowingTaskGroup(of: Void.self) { group in
            let (ports, portContinuation) = AsyncStream<Int>.makeStream()
            group.addTask {
                try await EventsAPI.serveOnLoopback(store: store, token: "t", logger: Logger(label: "test")) { port in
                    portContinuation.yield(port)
                }
            }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            func get(_ path: String) async throws -> (HTTPClientResponse, [String: Any]) {
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
                request.headers.add(name: "Authorization", value: "Bearer t")
                let response = try await client.execute(request, timeout: .seconds(30))
                let body = try await response.body.collect(upTo: 16 << 20)
                let object = try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
                return (response, object ?? [:])
            }
            func numbers(_ page: [String: Any]) -> [Int] {
                (page["events"] as? [[String: Any]] ?? []).compactMap { ($0["data"] as? [String: Any])?["n"] as? Int }
            }

            let (long, all) = try await get("/all?from=100&limit=2700")
            #expect(long.headers["Transfer-Encoding"].first == "chunked")
            #expect(numbers(all) == Array(100..<2800))
            #expect(all["lastPosition"] as? Int == 2999)
            var paged: [Int] = []
            for start in stride(from: 100, to: 2800, by: 1000) {
                paged += numbers(try await get("/all?from=\(start)&limit=\(min(1000, 2800 - start))").1)
            }
            #expect(paged == numbers(all))

            let (short, first) = try await get("/all?limit=10")
            #expect(short.headers["Content-Length"].first != nil)
            #expect(numbers(first) == Array(0..<10))
            // Backward across pages ends at version 0; the stream holds 2,400 events.
            let backward = numbers(try await get("/streams/counted?direction=backward&limit=100000").1)
            #expect(backward == Array((0..<2400).reversed()))
            #expect(numbers(try await get("/streams/other?from=599").1) == [2999])
            #expect(try await get("/all?limit=100001").0.status == .badRequest)

            // The replay client pages through long streamed reads, asking ahead.
            let events = EventsClient(url: "http://127.0.0.1:\(port)", token: "t")
            var replayed: [ReplayedEvent] = []
            let count = try await events.replay("$all", from: 5, pageSize: 1_200) { replayed += $0 }
            #expect(count == 2995 && replayed.map(\.position) == Array(5..<3000))
            #expect(replayed.last?.data == Data(#"{"n":2999}"#.utf8) && replayed.last?.stream == "other")
            var versions: [Int64] = []
            try await events.replay("counted") { versions += $0.map(\.version) }
            #expect(versions == Array(0..<2400))
            await #expect(throws: PyreError.self) {
                try await EventsClient(url: "http://127.0.0.1:\(port)", token: "wrong").replay("$all") { _ in }
            }
            group.cancelAll()
        }
        try await client.shutdown()
    }
}
