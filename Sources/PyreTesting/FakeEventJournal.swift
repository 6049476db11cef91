import Foundation
import PyreCore

/// An event journal in memory: keeps every recorded event, in order.
public final class FakeEventJournal: EventJournal, @unchecked Sendable {
    private let lock = NSLock()
    private var _events: [AgentEvent] = []
    private var _writes = 0

    public init(events: [AgentEvent] = []) { _events = events }

    /// Every event recorded so far.
    public var events: [AgentEvent] { lock.withLock { _events } }
    /// Calls of `record`: a step covering many servers should be one.
    public var writes: Int { lock.withLock { _writes } }

    public func record(_ events: [AgentEvent]) async throws {
        lock.withLock {
            _events += events
            _writes += 1
        }
    }
}
