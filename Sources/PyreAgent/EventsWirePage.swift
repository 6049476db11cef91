import NIOCore
import PyreEvents

/// Part of a read's answer, the events written as they go on the wire, each after a comma,
/// made on the thread that reads the store.
struct EventsWirePage: StoredEventVisitor {
    private(set) var bytes = ByteBuffer()
    private(set) var count = 0
    /// The last event's version and position: where the next page starts.
    private(set) var last: (version: Int64, position: Int64)?
    private var recent = EventsWireWriter.RecentTimestamp()

    init() {}

    mutating func visit(_ event: StoredEventFields) {
        // Room for a few hundred small events before the first regrowth.
        if count == 0 { bytes.reserveCapacity(64 * 1024) }
        bytes.writeStaticString(",")
        EventsWireWriter.write(event, into: &bytes, recent: &recent)
        count += 1
        last = (event.version, event.position)
    }
}
