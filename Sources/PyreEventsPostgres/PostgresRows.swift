import Foundation
import PostgresNIO
import PyreEvents

/// Conversions between query results and the store's values.
enum PostgresRows {
    /// The columns every event read selects, in the order ``recordedEvents(_:)`` decodes.
    static let columns = "stream, id, type, data, metadata, version, position, recorded_at"

    static func recordedEvents(_ rows: PostgresRowSequence) async throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        for try await (stream, id, type, data, metadata, version, position, recordedAt) in rows.decode(
            (String, UUID, String, Data, Data?, Int64, Int64, Date).self
        ) {
            events.append(RecordedEvent(stream: stream, id: id, type: type, data: data, metadata: metadata,
                                        version: version, position: position, recordedAt: recordedAt))
        }
        return events
    }

    /// The first element, nil when there is none; the rest is not read.
    static func first<Rows: AsyncSequence>(_ rows: Rows) async throws -> Rows.Element? {
        for try await row in rows {
            return row
        }
        return nil
    }
}
