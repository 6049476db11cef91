import PyreCore

/// How a deploy treats the strategy's canaries and watches.
public struct RolloutOptions: Sendable, Equatable {
    public enum Canary: Sendable, Equatable {
        /// As the strategy says.
        case asConfigured
        /// Stop once the canaries passed (`pyre deploy --canary-only`).
        case only
        /// No canary phase (`pyre deploy --no-canary`, `pyre promote`).
        case skip
    }

    public var canary: Canary
    /// Watch the canaries and the new fleet as the strategy says; off for deploys that do
    /// not change the release (healing, phoenix, drift) and for rollbacks.
    public var watch: Bool

    public init(canary: Canary = .asConfigured, watch: Bool = true) {
        self.canary = canary
        self.watch = watch
    }

    /// Gates only: what heals, phoenix replacements, recoveries and rollbacks use.
    public static let gatesOnly = RolloutOptions(canary: .skip, watch: false)

    func phases(_ strategy: RolloutStrategy, count: Int) -> RolloutStateMachine.Phases {
        RolloutStateMachine.Phases(canaries: canary == .skip ? 0 : strategy.canaries(count: count),
                                   watch: watch && strategy.watch > .zero, pauseAfterCanaries: canary == .only)
    }
}

/// Settings of the ``Reconciler``.
public struct ReconcilerConfiguration: Sendable {
    /// System name, given to every server.
    public var system: String
    /// The system's DNS zone (`guestbook.pyre.`), given to every server.
    public var zone: String
    /// Wait before the second automatic heal of a service in a row; doubles with each further one.
    public var healBackoffBase: Duration
    /// The longest wait between automatic heals of a service.
    public var healBackoffMax: Duration
    /// A service one of whose slots failed this many times in a row (a server, then its
    /// replacements, each soon after the last) is crash-looping.
    public var crashLoopThreshold: Int
    /// Quiet time after which a service's heal streak starts over.
    public var healStreakReset: Duration
    /// Lines of a failed server's output kept in its `ServerFailed` event.
    public var failureOutputLines: Int
    /// Drain of the servers of a service no longer declared (its own setting is gone).
    public var removedServiceDrain: Duration
    /// Health checks running at once during ``Reconciler/tick(_:)``.
    public var healthCheckConcurrency: Int
    /// How often a health gate that has not passed yet reports how it goes.
    public var gateProgressInterval: Duration

    public init(system: String, zone: String? = nil, healBackoffBase: Duration = .seconds(1),
                healBackoffMax: Duration = .seconds(300), crashLoopThreshold: Int = 3,
                healStreakReset: Duration = .seconds(600), failureOutputLines: Int = 20,
                removedServiceDrain: Duration = .seconds(1), healthCheckConcurrency: Int = 64,
                gateProgressInterval: Duration = .seconds(3)) {
        self.system = system
        self.zone = zone ?? "\(system).pyre."
        self.healBackoffBase = healBackoffBase
        self.healBackoffMax = healBackoffMax
        self.crashLoopThreshold = crashLoopThreshold
        self.healStreakReset = healStreakReset
        self.failureOutputLines = failureOutputLines
        self.removedServiceDrain = removedServiceDrain
        self.healthCheckConcurrency = healthCheckConcurrency
        self.gateProgressInterval = gateProgressInterval
    }
}
