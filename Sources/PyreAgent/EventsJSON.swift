import Foundation
import NIOCore
import PyreAPI
import PyreCore
import PyreEvents

/// The JSON of the events API (docs/events-api.yaml): requests read with JSONSerialization,
/// whose errors name what is wrong in the client's own documents; small answers as
/// `EventsAPITypes`, events and snapshots by `EventsWireWriter`.
enum EventsJSON {
    /// A client mistake, answered 400 with its message.
    struct BadRequest: Error {
        var message: String
        init(_ message: String) { self.message = message }
    }

    /// One event object, or an array of them: `{"id"?, "type", "data", "metadata"?}`.
    static func newEvents(from body: ByteBuffer) throws -> [NewEvent] {
        let parsed = try document(body, what: "the request body")
        let items: [Any] = (parsed as? [Any]) ?? [parsed]
        return try items.enumerated().map { index, item in
            let place = items.count == 1 ? "the event" : "event \(index)"
            guard let object = item as? [String: Any] else {
                throw BadRequest("\(place) is not a JSON object; send {\"type\": \"EntryAdded\", \"data\": {...}}")
            }
            guard let type = object["type"] as? String, !type.isEmpty else {
                throw BadRequest("\(place) has no \"type\" string; name what happened, e.g. \"EntryAdded\"")
            }
            guard let data = object["data"] else {
                throw BadRequest("\(place) has no \"data\"; send the event body as JSON")
            }
            var id = UUID.random()
            if let given = object["id"] {
                guard let text = given as? String, let parsed = UUID(uuidString: text) else {
                    throw BadRequest("\(place) has an \"id\" that is not a UUID; give a UUID, or none to have one made")
                }
                id = parsed
            }
            let metadata = try object["metadata"].flatMap { $0 is NSNull ? nil : try serialized($0) }
            return NewEvent(id: id, type: type, data: try serialized(data), metadata: metadata)
        }
    }

    /// `{"version": N, "data": {...}}` of a snapshot.
    static func snapshot(of stream: String, from body: ByteBuffer) throws -> Snapshot {
        guard let object = try document(body, what: "the snapshot") as? [String: Any],
              let version = (object["version"] as? NSNumber).map({ $0.int64Value }), let data = object["data"] else {
            throw BadRequest("the snapshot must be {\"version\": N, \"data\": {...}}, N the last version it includes")
        }
        return Snapshot(stream: stream, version: version, data: try serialized(data))
    }

    static func encode(_ value: some Encodable) -> ByteBuffer {
        ByteBuffer(bytes: (try? EventsJSONEncoding.encode(value)) ?? Data("null".utf8))
    }

    private static func document(_ body: ByteBuffer, what: String) throws -> Any {
        do {
            return try JSONSerialization.jsonObject(with: Data(body.readableBytesView), options: .fragmentsAllowed)
        } catch {
            throw BadRequest("\(what) is not valid JSON; send a JSON object or an array of them")
        }
    }

    private static func serialized(_ value: Any) throws -> Data {
        // Keys sorted once here, as the answers have always listed them.
        try JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .withoutEscapingSlashes, .sortedKeys])
    }
}
