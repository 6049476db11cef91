import Foundation
import PyreCore

/// An event to append: the caller chooses the id, which makes retries idempotent.
public struct NewEvent: Sendable, Equatable {
    /// Unique across the whole store; appending the same id again at the same place is a no-op.
    public var id: UUID
    /// What happened, e.g. `EntryAdded`. Must not be empty.
    public var type: String
    /// The event body, a JSON document.
    public var data: Data
    /// Optional JSON document about the event (correlation ids, who caused it, …).
    public var metadata: Data?

    public init(id: UUID = .random(), type: String, data: Data, metadata: Data? = nil) {
        self.id = id
        self.type = type
        self.data = data
        self.metadata = metadata
    }
}

/// An event as stored, with its place in its stream and in the whole store.
public struct RecordedEvent: Sendable, Equatable {
    public var stream: String
    public var id: UUID
    public var type: String
    public var data: Data
    public var metadata: Data?
    /// Place in its stream: 0 for the stream's first event, then 1, 2, … without gaps.
    public var version: Int64
    /// Place in the whole store (`$all`): 0 for the store's first event, then 1, 2, …
    /// without gaps, in commit order. Resume reading at `position + 1`.
    public var position: Int64
    /// When the store committed the event (microsecond precision).
    public var recordedAt: Date

    public init(stream: String, id: UUID, type: String, data: Data, metadata: Data?,
                version: Int64, position: Int64, recordedAt: Date) {
        self.stream = stream
        self.id = id
        self.type = type
        self.data = data
        self.metadata = metadata
        self.version = version
        self.position = position
        self.recordedAt = recordedAt
    }
}

/// Which way a stream read walks.
public enum ReadDirection: Sendable {
    /// Ascending versions, starting at the given version.
    case forward
    /// Descending versions, starting at the given version (``StreamVersion/end`` for the last event).
    case backward
}

/// A stream's state folded up to and including `version`, so a reader can start from it and
/// replay only the events after it.
public struct Snapshot: Sendable, Equatable {
    public var stream: String
    public var version: Int64
    /// The folded state, a JSON document.
    public var data: Data

    public init(stream: String, version: Int64, data: Data) {
        self.stream = stream
        self.version = version
        self.data = data
    }
}
