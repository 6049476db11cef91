import Foundation

/// One event's fields as the store holds them, lent for the time of one call: a reader that
/// only copies events out (the events API answering a replay) then makes no `RecordedEvent`,
/// `UUID` or `Data` of each, which cost a replay more than SQLite's own work.
public struct StoredEventFields {
    /// UTF-8.
    public let stream: UnsafeRawBufferPointer
    /// Lowercase `8-4-4-4-12` text, as ``UUIDText`` writes ids.
    public let id: UnsafeRawBufferPointer
    /// UTF-8.
    public let type: UnsafeRawBufferPointer
    /// A JSON document.
    public let data: UnsafeRawBufferPointer
    /// A JSON document, nil when the event has none.
    public let metadata: UnsafeRawBufferPointer?
    public let version: Int64
    public let position: Int64
    public let recordedAt: Date

    /// Lends `event`'s fields to `body`: how a store without stored fields of its own is read
    /// the same way.
    public static func of<Result>(_ event: RecordedEvent, _ body: (StoredEventFields) throws -> Result) rethrows -> Result {
        var stream = event.stream
        var type = event.type
        var id = UUIDText.bytes(event.id)
        return try stream.withUTF8 { stream in
            try type.withUTF8 { type in
                try withUnsafeBytes(of: &id) { id in
                    try event.data.withUnsafeBytes { data in
                        func fields(_ metadata: UnsafeRawBufferPointer?) throws -> Result {
                            try body(StoredEventFields(
                                stream: UnsafeRawBufferPointer(stream), id: id, type: UnsafeRawBufferPointer(type),
                                data: data, metadata: metadata, version: event.version, position: event.position,
                                recordedAt: event.recordedAt))
                        }
                        guard let metadata = event.metadata else { return try fields(nil) }
                        return try metadata.withUnsafeBytes { try fields($0) }
                    }
                }
            }
        }
    }
}

/// Gathers what it needs from the events of one part of a read, in order.
public protocol StoredEventVisitor: Sendable {
    init()
    mutating func visit(_ event: StoredEventFields)
}

/// A store whose reads can lend each event's stored fields instead of making ``RecordedEvent``s.
public protocol StoredEventReading: EventStore {
    /// The events ``EventStore/read(stream:from:limit:direction:)`` would return (`stream` given)
    /// or ``EventStore/readAll(from:limit:)`` would (`stream` nil; then `direction` is forward),
    /// visited in order. The store may read them in several parts at once, each into a visitor of
    /// its own; the visitors come back in the order of their parts.
    func visitStored<Visitor: StoredEventVisitor>(_ visitor: Visitor.Type, stream: String?, from start: Int64,
                                                  limit: Int, direction: ReadDirection) async throws -> [Visitor]
}

extension EventStore {
    /// As ``StoredEventReading/visitStored(_:stream:from:limit:direction:)``, for any store: one
    /// that does not lend stored fields is read as `RecordedEvent`s and their fields lent.
    public func visitEvents<Visitor: StoredEventVisitor>(_ visitor: Visitor.Type, stream: String?, from start: Int64,
                                                         limit: Int, direction: ReadDirection) async throws -> [Visitor] {
        if let store = self as? any StoredEventReading {
            return try await store.visitStored(visitor, stream: stream, from: start, limit: limit, direction: direction)
        }
        let events = if let stream {
            try await read(stream: stream, from: start, limit: limit, direction: direction)
        } else {
            try await readAll(from: start, limit: limit)
        }
        var visitor = Visitor()
        for event in events { StoredEventFields.of(event) { visitor.visit($0) } }
        return [visitor]
    }
}
