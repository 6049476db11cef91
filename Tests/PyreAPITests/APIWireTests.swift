import Foundation
import Testing
@testable import PyreAPI

/// Requests built from the route lists, and the events API's JSON as clients have always read it.
struct APIWireTests {
    @Test func requestsFillParametersAndEncodeQueries() {
        #expect(ControlRoutes.status.request() == APIRequest(method: .GET, path: "/v1/status"))
        #expect(ControlRoutes.verify.request(query: [("replace", "true")]).path == "/v1/verify?replace=true")
        #expect(ControlRoutes.logs.request(query: [("grep", "a b+c"), ("limit", "5")]).path == "/v1/logs?grep=a%20b%2Bc&limit=5")
        #expect(EventsRoutes.readStream.request("orders-1", query: [("from", "0")]).path == "/streams/orders-1?from=0")
        #expect(EventsRoutes.append.request("a/b?c").path == "/streams/a%2Fb%3Fc")
        #expect(EventsRoutes.subscribe.request(query: [("stream", "$all")]).path == "/subscribe?stream=%24all")
    }

    /// Event data goes through `JSONValue` and comes out as JSONSerialization writes it.
    @Test func eventJSONKeepsTheBytesJSONSerializationWrites() throws {
        let data = #"{"b":1,"B":2,"_":3,"a":[1.5,-2,12345678901234567890,true,null,"x/y"],"aa":{"k":0.1}}"#
        let event = EventsAPITypes.RecordedEvent(
            stream: "orders", id: "0b6e1a1c-3f59-4c1e-9a7e-1f0c3b2a4d5e", type: "Placed", version: 0, position: 7,
            recordedAt: "2026-01-02T03:04:05.678Z", data: JSONValue(parsing: Data(data.utf8)), metadata: .null)
        let expected: [String: Any] = [
            "stream": "orders", "id": event.id, "type": "Placed", "version": 0, "position": 7,
            "recordedAt": event.recordedAt, "metadata": NSNull(),
            "data": try JSONSerialization.jsonObject(with: Data(data.utf8)),
        ]
        for escaping in [true, false] {
            var options: JSONSerialization.WritingOptions = [.sortedKeys, .fragmentsAllowed]
            if !escaping { options.insert(.withoutEscapingSlashes) }
            let old = try JSONSerialization.data(withJSONObject: expected, options: options)
            #expect(String(decoding: try EventsJSONEncoding.encode(event, escapingSlashes: escaping), as: UTF8.self)
                    == String(decoding: old, as: UTF8.self))
        }
        let decoded = try JSONDecoder.pyre.decode(EventsAPITypes.RecordedEvent.self, from: try EventsJSONEncoding.encode(event))
        #expect(decoded == event)
    }

    @Test func aVersionConflictSaysNullWhenThereIsNoStream() throws {
        let body = try EventsJSONEncoding.encode(EventsAPITypes.VersionConflict(message: "m", actualVersion: nil))
        #expect(String(decoding: body, as: UTF8.self) == #"{"actualVersion":null,"code":"wrong_expected_version","message":"m"}"#)
    }
}
