import Foundation
import PyreCore

/// The last health check of one live server, as `status` shows it.
public struct ServerHealth: Sendable, Equatable {
    public var id: ServerID
    /// Nil until the first check after the server passed its gate.
    public var lastResult: HealthResult?
    public var consecutiveFailures: Int
    public var checkedAt: Date?

    public init(id: ServerID, lastResult: HealthResult? = nil, consecutiveFailures: Int = 0, checkedAt: Date? = nil) {
        self.id = id
        self.lastResult = lastResult
        self.consecutiveFailures = consecutiveFailures
        self.checkedAt = checkedAt
    }
}

/// Health of one service's live servers and of its self-healing.
public struct ServiceHealth: Sendable, Equatable {
    public var servers: [ServerHealth]
    /// Failures in a row of the service's worst slot (a server, its replacement, the
    /// replacement's replacement), each healed soon after the previous one.
    public var consecutiveHeals: Int
    /// One slot keeps failing: each replacement of a server dies or fails again.
    public var crashLooping: Bool
    /// While backing off, the next automatic heal waits until then.
    public var nextHealNotBefore: Date?
}

/// Automatic heals of one service, for backoff and crash-loop detection.
struct HealStreak {
    /// Failures in a row of the service's worst slot.
    var count = 0
    var lastAt = Date.distantPast

    func delay(base: Duration, max: Duration) -> Duration {
        guard count > 0 else { return .zero }
        let factor = 1 << Swift.min(count - 1, 30)
        return Swift.min(base * factor, max)
    }
}
