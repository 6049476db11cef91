import Foundation
import PyreCore

/// Argument checks shared by every backend, so they all reject the same input the same way.
package enum EventValidation {
    package static func checkStreamName(_ stream: String) throws {
        if stream.isEmpty {
            throw PyreError(.events, "stream name is empty: give the stream a name such as 'guestbook'")
        }
        if stream == StreamNames.all {
            throw PyreError(.events, "'\(StreamNames.all)' is the global order of all streams, not a stream: "
                + "append to a named stream instead")
        }
    }

    package static func checkAppend(to stream: String, _ events: [NewEvent], expected: ExpectedVersion) throws {
        try checkStreamName(stream)
        if events.isEmpty {
            throw PyreError(.events, "append to '\(stream)' has no events: pass at least one event")
        }
        if case .exact(let version) = expected, version < 0 {
            throw PyreError(.events, "expected version \(version) is negative: use .noStream for a stream "
                + "that must not exist, or a version of 0 or more")
        }
        var seen = Set<UUID>()
        for event in events {
            if !seen.insert(event.id).inserted {
                throw PyreError(.events, "event id \(event.id) appears twice in one append: give every event its own id")
            }
            if event.type.isEmpty {
                throw PyreError(.events, "event \(event.id) has an empty type: name what happened, e.g. 'EntryAdded'")
            }
            if !isJSON(event.data) {
                throw PyreError(.events, "data of event \(event.id) is not valid JSON: send a JSON document")
            }
            if let metadata = event.metadata, !isJSON(metadata) {
                throw PyreError(.events, "metadata of event \(event.id) is not valid JSON: send a JSON document or none")
            }
        }
    }

    package static func checkRead(from start: Int64, limit: Int, what: String) throws {
        if start < 0 {
            throw PyreError(.events, "cannot read \(what) from \(start): start at 0 or later")
        }
        if limit < 0 {
            throw PyreError(.events, "read limit \(limit) is negative: ask for 0 or more events")
        }
    }

    package static func checkSnapshot(_ snapshot: Snapshot) throws {
        try checkStreamName(snapshot.stream)
        if snapshot.version < 0 {
            throw PyreError(.events, "snapshot version \(snapshot.version) is negative: give the version of the "
                + "last event the snapshot includes")
        }
        if !isJSON(snapshot.data) {
            throw PyreError(.events, "snapshot of '\(snapshot.stream)' is not valid JSON: send a JSON document")
        }
    }

    /// Checked inside the write: a snapshot may only fold events that exist.
    package static func checkSnapshot(_ snapshot: Snapshot, streamVersion: Int64?) throws {
        guard let streamVersion, snapshot.version <= streamVersion else {
            let actual = streamVersion.map { "is at version \($0)" } ?? "does not exist"
            throw PyreError(.events, "snapshot of '\(snapshot.stream)' at version \(snapshot.version) is ahead of "
                + "the stream, which \(actual): snapshot only events that are stored")
        }
    }

    private static func isJSON(_ data: Data) -> Bool {
        JSONSyntax.isValid(data)
    }
}
