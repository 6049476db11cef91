import Foundation
import PyreCore

/// Where an already stored event sits.
package struct StoredPlace: Equatable, Sendable {
    package var stream: String
    package var version: Int64
    package var position: Int64

    package init(stream: String, version: Int64, position: Int64) {
        self.stream = stream
        self.version = version
        self.position = position
    }
}

/// The idempotency rule every backend applies, inside its append transaction, when some of
/// the ids it was given are already stored.
package enum AppendRetry {
    package enum Outcome: Equatable, Sendable {
        /// The append repeats an earlier one exactly: answer with that append's result.
        case original(AppendResult)
        /// The append repeats an earlier one whose expected version could never have held:
        /// answer with ``WrongExpectedVersion`` and the stream's current version.
        case expectationNeverHeld
    }

    /// `stored[i]` is where `events[i]` is stored, nil if it is not. Returns nil when no
    /// event is stored (a fresh append); throws when the stored events are not exactly
    /// this append's events at one place in `stream`.
    package static func outcome(stream: String, events: [NewEvent], expected: ExpectedVersion,
                                stored: [StoredPlace?]) throws -> Outcome? {
        guard let index = stored.firstIndex(where: { $0 != nil }), let firstStored = stored[index] else {
            return nil
        }
        let places = stored.compactMap { $0 }
        guard places.count == events.count, let first = places.first, let last = places.last,
              places.allSatisfy({ $0.stream == stream }),
              places.enumerated().allSatisfy({ $0.element.version == first.version + Int64($0.offset) })
        else {
            throw PyreError(.eventIDTaken, "event \(events[index].id) is already stored in stream '\(firstStored.stream)' "
                + "at version \(firstStored.version), so this append to '\(stream)' is not a retry of it: "
                + "give new events new ids, or retry the original append exactly")
        }
        let versionBefore: Int64? = first.version == 0 ? nil : first.version - 1
        guard expected.isSatisfied(by: versionBefore) else { return .expectationNeverHeld }
        return .original(AppendResult(firstVersion: first.version, lastVersion: last.version,
                                      firstPosition: first.position, lastPosition: last.position))
    }
}
