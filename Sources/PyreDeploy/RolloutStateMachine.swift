import PyreCore

/// The rollout of one ``ServicePlan``, bounded by surge and unavailability, as a pure state
/// machine: the reconciler feeds it what happened and performs the actions it returns.
///
/// Counting rules:
/// - live servers are old (kept, to retire, retiring, dead) plus new (requested, starting,
///   ready, published); a create never takes them above `count + surge`.
/// - available servers are kept ones, old ones not yet retired and not dead, and published
///   new ones; a swap never takes them below `count − unavailable`.
/// - a new server that passed its gate is held (ready) while another new server is requested
///   or starting; then every ready server is published in one publisher change together with
///   the retirements its arrival allows (a swap). So blue/green (surge 100%, unavailable 0)
///   creates the whole new fleet and swaps it for the whole old one in one change, and one at
///   a time (surge 0, unavailable 1) retires one, creates one, then swaps it for the next old
///   one. A deploy that retires nothing (first deploy, scale up) publishes its ready servers
///   with the same rule: one change once no sibling is still on its way.
/// - one swap at a time: the next waits until the last one's change is visible, so changes
///   never overtake each other at the publisher.
/// - dead (exited or failing) old servers serve nothing: they are destroyed at once.
/// - when a new server fails its gate (or cannot be created), nothing more is created, the new
///   servers not yet published (ready ones too) are destroyed, the old fleet stays and the
///   rollout fails.
public struct RolloutStateMachine: Sendable {
    public enum Input: Sendable, Equatable {
        /// Begin; answered by destroying dead servers and the first creates or retirements.
        case started
        /// A requested server was created and starts.
        case created(ServerID)
        /// A requested server could not be created.
        case createFailed(reason: String)
        /// A new server passed its health gate; it waits for a swap to publish it.
        case gatePassed(ServerID)
        /// A new server failed its health gate.
        case gateFailed(ServerID, reason: String)
        /// The publisher change of the last swap is visible.
        case swapped
        /// A retired or doomed server is gone.
        case destroyed(ServerID)
    }

    public enum Action: Sendable, Equatable {
        /// Create this many new servers; answer each with `created` or `createFailed`.
        case create(Int)
        /// Publish `publish` and unpublish `retire` in one publisher change, answered with
        /// `swapped`; then drain and destroy `retire`, answering each with `destroyed`.
        case swap(publish: [ServerID], retire: [ServerID])
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
    /// New servers that passed their gate, held for the next swap.
    private var ready: Set<ServerID> = []
    /// New servers published, or in the swap in flight (its change is atomic).
    private var published = 0
    private var swapInFlight = false
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
            + requested + starting.count + ready.count + published + doomed.count
    }

    /// Servers that serve traffic.
    public var availableCount: Int { kept + (oldFleet.count - nextToRetire) + published }

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
        case let .gatePassed(id):
            if starting.remove(id) != nil { ready.insert(id) }
        case let .gateFailed(id, reason):
            if starting.contains(id) { actions += stop(reason: reason, failed: id) }
        case .swapped:
            swapInFlight = false
        case let .destroyed(id):
            if retiring.remove(id) == nil, dead.remove(id) == nil { doomed.remove(id) }
        }
        actions += advance()
        return actions.isEmpty ? [.wait] : actions
    }

    /// Records the failure (the first one wins) and dooms every new server not yet published.
    private mutating func stop(reason: String, failed: ServerID?) -> [Action] {
        if failure == nil { failure = reason }
        // The failed server first, then the others not yet published.
        let victims = (failed.map { [$0] } ?? []) + starting.union(ready).filter { $0 != failed }.sorted()
        starting.removeAll()
        ready.removeAll()
        doomed.formUnion(victims)
        return victims.isEmpty ? [] : [.destroyNow(victims)]
    }

    private mutating func advance() -> [Action] {
        if let failure {
            guard requested == 0, !swapInFlight, retiring.isEmpty, dead.isEmpty, doomed.isEmpty else { return [] }
            isFinished = true
            return [.fail(reason: failure)]
        }
        var actions: [Action] = []
        if starting.isEmpty, requested == 0, !swapInFlight {
            let retirable = min(availableCount + ready.count - minimumAvailable, oldFleet.count - nextToRetire)
            if retirable > 0 || !ready.isEmpty {
                let publish = ready.sorted()
                let retire = Array(oldFleet[nextToRetire ..< nextToRetire + max(0, retirable)])
                ready.removeAll()
                published += publish.count
                nextToRetire += retire.count
                retiring.formUnion(retire)
                swapInFlight = true
                actions.append(.swap(publish: publish, retire: retire))
            }
        }
        let creatable = min(toCreate, count + surge - liveCount)
        if creatable > 0 {
            toCreate -= creatable
            requested += creatable
            actions.append(.create(creatable))
        }
        if toCreate == 0, requested == 0, starting.isEmpty, ready.isEmpty, !swapInFlight,
           nextToRetire == oldFleet.count, retiring.isEmpty, dead.isEmpty {
            isFinished = true
            actions.append(.complete)
        }
        return actions
    }
}
