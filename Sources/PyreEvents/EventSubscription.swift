import Foundation

/// The events of one stream, or of `$all`, from a starting point: first everything already
/// stored (catch-up), then each new event as it is committed (live), in order, with no gap and
/// no duplicate. Resume after a disconnect from the last event's ``cursor(of:)`` plus one.
public struct EventSubscription: AsyncSequence, Sendable {
    public typealias Element = RecordedEvent

    public let store: any EventStore
    /// A stream name, or ``StreamNames/all``.
    public let stream: String
    /// A stream version, or a global position for `$all`.
    public let start: Int64
    /// How long to wait for this store's signal before reading again anyway, which picks up
    /// events appended by other processes.
    public let pollInterval: Duration
    /// Large enough that a catch-up read is split across two connections (SQLite).
    static let pageSize = 1_000

    public init(store: any EventStore, stream: String, from start: Int64, pollInterval: Duration = .milliseconds(500)) {
        self.store = store
        self.stream = stream
        self.start = start
        self.pollInterval = pollInterval
    }

    /// Where an event sits in this subscription's order: its position in `$all`, else its version.
    public func cursor(of event: RecordedEvent) -> Int64 {
        stream == StreamNames.all ? event.position : event.version
    }

    public func makeAsyncIterator() -> Iterator { Iterator(subscription: self, next: start) }

    public struct Iterator: AsyncIteratorProtocol {
        let subscription: EventSubscription
        var next: Int64
        var buffered: [RecordedEvent] = []
        var taken = 0

        /// The next event; nil only when the task is cancelled. Store failures are thrown.
        public mutating func next() async throws -> RecordedEvent? {
            while taken == buffered.count {
                if Task.isCancelled { return nil }
                let store = subscription.store
                let seen = store.appendSignal.pulses
                do {
                    buffered = subscription.stream == StreamNames.all
                        ? try await store.readAll(from: next, limit: EventSubscription.pageSize)
                        : try await store.read(stream: subscription.stream, from: next,
                                               limit: EventSubscription.pageSize, direction: .forward)
                } catch is CancellationError {
                    return nil
                }
                taken = 0
                if buffered.isEmpty {
                    await store.appendSignal.wait(after: seen, timeout: subscription.pollInterval)
                }
            }
            let event = buffered[taken]
            taken += 1
            next = subscription.cursor(of: event) + 1
            return event
        }
    }
}
