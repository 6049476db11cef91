import Foundation
import PyreCore

/// The events API's answers (`docs/events-api.yaml`), camelCase on the wire; written with
/// `EventsJSONEncoding`.
public enum EventsAPITypes {
    /// An event as stored: where it is (`version` in its stream, `position` in `$all`) and
    /// what the client appended.
    public struct RecordedEvent: Codable, Sendable, Equatable {
        public var stream: String
        /// Lowercase UUID.
        public var id: String
        public var type: String
        public var version: Int64
        public var position: Int64
        /// ISO 8601 in UTC with milliseconds, as the store recorded it.
        public var recordedAt: String
        public var data: JSONValue
        /// `null` when the client gave none.
        public var metadata: JSONValue

        public init(stream: String, id: String, type: String, version: Int64, position: Int64, recordedAt: String,
                    data: JSONValue, metadata: JSONValue) {
            self.stream = stream
            self.id = id
            self.type = type
            self.version = version
            self.position = position
            self.recordedAt = recordedAt
            self.data = data
            self.metadata = metadata
        }
    }

    /// `GET /streams/{stream}` and `GET /all`; only `/all` says its `lastPosition` (-1: empty).
    public struct Page: Codable, Sendable {
        public var events: [RecordedEvent]
        public var lastPosition: Int64?

        public init(events: [RecordedEvent], lastPosition: Int64? = nil) {
            self.events = events
            self.lastPosition = lastPosition
        }
    }

    /// `POST /streams/{stream}`: where the appended events went.
    public typealias AppendAnswer = AppendResult

    /// `GET /snapshots/{stream}`.
    public struct Snapshot: Codable, Sendable {
        public var stream: String
        public var version: Int64
        public var data: JSONValue

        public init(stream: String, version: Int64, data: JSONValue) {
            self.stream = stream
            self.version = version
            self.data = data
        }
    }

    /// A 409 to an append whose `Expected-Version` did not hold: the stream's version (null: no stream).
    public struct VersionConflict: Encodable, Sendable {
        public var code = "wrong_expected_version"
        public var message: String
        public var actualVersion: Int64?

        public init(message: String, actualVersion: Int64?) {
            self.message = message
            self.actualVersion = actualVersion
        }

        enum CodingKeys: CodingKey { case code, message, actualVersion }

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(code, forKey: .code)
            try container.encode(message, forKey: .message)
            // Written as null rather than left out, as the document says.
            try container.encode(actualVersion, forKey: .actualVersion)
        }
    }
}
