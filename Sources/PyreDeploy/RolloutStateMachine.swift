import PyreCore

/// The rollout of one ``ServicePlan``, bounded by surge and unavailability, as a pure state
/// machine: the reconciler feeds it what happened and performs the actions it returns.
///
/// Counting rules:
/// - live servers are old (kept, to retire, retiring, dead) plus new (requested, starting,
///   healthy); a create never takes them above `count + surge`.
/// - available servers are kept ones, old ones not yet retired and not dead, and healthy new
///   ones; a retirement never takes them below `count − unavailable`.
/// - old servers are retired only while no new server is starting, so blue/green (surge 100%,
///   unavailable 0) creates the whole new fleet and then retires the whole old one, and one at a
///   time (surge 0, unavailable 1) retires one, creates one, waits until it is healthy, repeats.
/// - dead (exited or failing) old servers serve nothing: they are destroyed at once.
/// - when a new server fails its gate (or cannot be created), nothing more is created, the new
///   servers not yet healthy are destroyed, the old fleet stays and the rollout fails.
public struct RolloutStateMachine: Sendable {
    public enum Input: Sendable, Equatable {
        /// Begin; answered by destroying dead servers and the first creates or retirements.
        case started
        /// A requested server was created and starts.
        case created(ServerID)
        /// A requested server could not be created.
        case createFailed(reason: String)
        /// A new server passed its health gate and is published.
        case healthy(ServerID)
        /// A new server failed its health gate.
        case gateFailed(ServerID, reason: String)
        /// A retired or doomed server is gone.
        case destroyed(ServerID)
    }

    public enum Action: Sendable, Equatable {
        /// Create this many new servers; answer each with `created` or `createFailed`.
        case create(Int)
        /// Unpublish, drain and destroy these servers; answer each with `destroyed`.
        case retire([ServerID])
        /// Destroy these dead or failed servers without draining; answer each with `destroyed`.
        case destroyNow([ServerID])
        /// Nothing to do until the next input.
        case wait
        /// Every server is up to date and every old one is gone.
        case complete
        /// The rollout stopped; the old fleet keeps serving.
        case fail(reason: String)
    }

    public let count: Int
    public let surge: Int
    public let unavailable: Int

    private let kept: Int
    /// Old servers that still serve, in retirement order (extras first).
    private let oldFleet: [ServerID]
    private var nextToRetire = 0
    private var dead: Set<ServerID>
    private var retiring: Set<ServerID> = []
    private var toCreate: Int
    private var requested = 0
    private var starting: Set<ServerID> = []
    private var healthyNew = 0
    /// New servers being destroyed because the rollout failed.
    private var doomed: Set<ServerID> = []
    private var failure: String?
    public private(set) var isFinished = false

    public init(plan: ServicePlan, limits: (surge: Int, unavailable: Int)) {
        count = plan.count
        surge = limits.surge
        unavailable = limits.unavailable
        kept = plan.keep.count
        oldFleet = plan.destroyExtra + plan.replace.filter { !$0.reason.isDead }.map(\.id)
        dead = Set(plan.replace.filter(\.reason.isDead).map(\.id))
        toCreate = plan.create
    }

    public init(plan: ServicePlan, strategy: RolloutStrategy) {
        self.init(plan: plan, limits: strategy.limits(count: plan.count))
    }

    /// Old, new and starting servers that exist or are being created.
    public var liveCount: Int {
        kept + (oldFleet.count - nextToRetire) + dead.count + retiring.count
            + requested + starting.count + healthyNew + doomed.count
    }

    /// Servers that serve traffic.
    public var availableCount: Int { kept + (oldFleet.count - nextToRetire) + healthyNew }

    /// The floor that retirements respect.
    public var minimumAvailable: Int { max(0, count - unavailable) }

    public mutating func handle(_ input: Input) -> [Action] {
        guard !isFinished else { return [] }
        var actions: [Action] = []
        switch input {
        case .started:
            if !dead.isEmpty { actions.append(.destroyNow(dead.sorted())) }
        case let .created(id):
            requested -= 1
            if failure == nil {
                starting.insert(id)
            } else {
                doomed.insert(id)
                actions.append(.destroyNow([id]))
            }
        case let .createFailed(reason):
            requested -= 1
            actions += stop(reason: reason, failed: nil)
        case let .healthy(id):
            if starting.remove(id) != nil { healthyNew += 1 }
        case let .gateFailed(id, reason):
            if starting.contains(id) { actions += stop(reason: reason, failed: id) }
        case let .destroyed(id):
            if retiring.remove(id) == nil, dead.remove(id) == nil { doomed.remove(id) }
        }
        actions += advance()
        return actions.isEmpty ? [.wait] : actions
    }

    /// Records the failure (the first one wins) and dooms every new server not yet healthy.
    private mutating func stop(reason: String, failed: ServerID?) -> [Action] {
        if failure == nil { failure = reason }
        // The failed server first, then the others not yet healthy.
        let victims = (failed.map { [$0] } ?? []) + starting.filter { $0 != failed }.sorted()
        starting.removeAll()
        doomed.formUnion(victims)
        return victims.isEmpty ? [] : [.destroyNow(victims)]
    }

    private mutating func advance() -> [Action] {
        if let failure {
            guard requested == 0, retiring.isEmpty, dead.isEmpty, doomed.isEmpty else { return [] }
            isFinished = true
            return [.fail(reason: failure)]
        }
        var actions: [Action] = []
        if starting.isEmpty, requested == 0, nextToRetire < oldFleet.count {
            let retirable = min(availableCount - minimumAvailable, oldFleet.count - nextToRetire)
            if retirable > 0 {
                let batch = oldFleet[nextToRetire ..< nextToRetire + retirable]
                nextToRetire += retirable
                retiring.formUnion(batch)
                actions.append(.retire(Array(batch)))
            }
        }
        let creatable = min(toCreate, count + surge - liveCount)
        if creatable > 0 {
            toCreate -= creatable
            requested += creatable
            actions.append(.create(creatable))
        }
        if toCreate == 0, requested == 0, starting.isEmpty, nextToRetire == oldFleet.count,
           retiring.isEmpty, dead.isEmpty {
            isFinished = true
            actions.append(.complete)
        }
        return actions
    }
}
