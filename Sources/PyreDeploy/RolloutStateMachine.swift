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
///
/// Progressive delivery (``Phases``), when the rollout replaces old servers:
/// - canaries: first only `canaries` new servers are created (retiring old ones only to make
///   room under the surge), published beside the old fleet in one change, and watched. A
///   failed watch withdraws them (unpublish, drain, destroy) and fails the rollout; a passed
///   one lets the rest proceed under the usual budgets, or pauses the rollout (`--canary-only`).
/// - fleet watch: once every old server is gone, the published new servers are watched; the
///   rollout completes only when that passes. A failed one fails it and leaves the new fleet
///   serving: undoing it is a rollback, a deploy of its own.
public struct RolloutStateMachine: Sendable {
    /// What a rollout watches beyond health gates; all off by default.
    public struct Phases: Sendable, Equatable {
        /// New servers created and watched before the rest (0: no canary phase).
        public var canaries: Int
        /// Watch the canaries and, after cut-over, the new fleet.
        public var watch: Bool
        /// Stop once the canaries passed their watch.
        public var pauseAfterCanaries: Bool

        public init(canaries: Int = 0, watch: Bool = false, pauseAfterCanaries: Bool = false) {
            self.canaries = canaries
            self.watch = watch
            self.pauseAfterCanaries = pauseAfterCanaries
        }
    }

    /// What a watch looks at.
    public enum Watch: String, Sendable, Equatable {
        /// The canaries, beside the old fleet.
        case canaries
        /// The whole new fleet, after the old one is gone.
        case fleet
    }

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
        /// The servers of the last `watch` stayed healthy (and within the error bound).
        case watchPassed
        /// One of them died, failed health or logged too many errors.
        case watchFailed(reason: String)
    }

    public enum Action: Sendable, Equatable {
        /// Create this many new servers; answer each with `created` or `createFailed`.
        case create(Int)
        /// Publish `publish` and unpublish `retire` in one publisher change, answered with
        /// `swapped`; then drain and destroy `retire`, answering each with `destroyed`.
        case swap(publish: [ServerID], retire: [ServerID])
        /// Destroy these dead or failed servers without draining; answer each with `destroyed`.
        case destroyNow([ServerID])
        /// Unpublish, drain and destroy these published new servers of a failed canary; answer
        /// each with `destroyed`.
        case withdraw([ServerID])
        /// Watch these published new servers for the strategy's watch; answer with
        /// `watchPassed` or `watchFailed`.
        case watch([ServerID], Watch)
        /// The canaries passed their watch and the rollout stops here, as asked; the rest is
        /// another deploy (`pyre promote`).
        case pause
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
    public let phases: Phases

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
    private var published: [ServerID] = []
    private var swapInFlight = false
    private enum Phase { case canaries, watchingCanaries, rolling, watchingFleet }
    private var phase: Phase
    /// Canaries not yet asked for.
    private var canariesLeft: Int
    private var canaries: [ServerID] = []
    private var fleetWatched = false
    /// The canaries passed and the rollout stops once what it started is done.
    private var pausing = false
    /// New servers being destroyed because the rollout failed.
    private var doomed: Set<ServerID> = []
    private var failure: String?
    public private(set) var isFinished = false

    /// A rollout that creates no server, or replaces none, has no canary and no watch: there
    /// is no old release beside which to judge the new one, nor one to go back to.
    public init(plan: ServicePlan, limits: (surge: Int, unavailable: Int), phases: Phases = Phases()) {
        count = plan.count
        surge = limits.surge
        unavailable = limits.unavailable
        kept = plan.keep.count
        oldFleet = plan.destroyExtra + plan.replace.filter { !$0.reason.isDead }.map(\.id)
        dead = Set(plan.replace.filter(\.reason.isDead).map(\.id))
        toCreate = plan.create
        let replaces = plan.create > 0 && !plan.replace.isEmpty
        self.phases = replaces ? phases : Phases()
        // Canaries are withdrawn if they fail: they may take free surge slots, and the place of
        // old servers only as far as the fleet can lose them, never more than count − unavailable.
        let serving = kept + oldFleet.count
        let minimum = max(0, count - limits.unavailable)
        let affordable = max(0, count + limits.surge - serving) + max(0, serving - minimum)
        canariesLeft = min(self.phases.canaries, plan.create, affordable)
        phase = canariesLeft > 0 ? .canaries : .rolling
    }

    public init(plan: ServicePlan, strategy: RolloutStrategy, phases: Phases = Phases()) {
        self.init(plan: plan, limits: strategy.limits(count: plan.count), phases: phases)
    }

    /// The servers this rollout watches last or is watching: canaries, then the new fleet.
    public var watchedServers: [ServerID] { phase == .watchingFleet ? published : canaries }

    /// Old, new and starting servers that exist or are being created.
    public var liveCount: Int {
        kept + (oldFleet.count - nextToRetire) + dead.count + retiring.count
            + requested + starting.count + ready.count + published.count + doomed.count
    }

    /// Servers that serve traffic.
    public var availableCount: Int { kept + (oldFleet.count - nextToRetire) + published.count }

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
        case .watchPassed:
            switch phase {
            case .watchingCanaries:
                phase = .rolling
                pausing = phases.pauseAfterCanaries
            case .watchingFleet:
                fleetWatched = true
                phase = .rolling
            case .canaries, .rolling:
                break
            }
        case let .watchFailed(reason):
            switch phase {
            case .watchingCanaries:
                // The canaries go; the old fleet they stood beside keeps serving.
                phase = .rolling
                if failure == nil { failure = reason }
                published.removeAll { canaries.contains($0) }
                doomed.formUnion(canaries)
                actions.append(.withdraw(canaries))
            case .watchingFleet:
                isFinished = true
                return [.fail(reason: reason)]
            case .canaries, .rolling:
                break
            }
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
        if phase == .watchingCanaries || phase == .watchingFleet { return [] }
        if pausing {
            guard retiring.isEmpty, dead.isEmpty, !swapInFlight else { return [] }
            isFinished = true
            return [.pause]
        }
        var actions: [Action] = []
        if starting.isEmpty, requested == 0, !swapInFlight {
            var retirable = min(availableCount + ready.count - minimumAvailable, oldFleet.count - nextToRetire)
            if phase == .canaries {
                // Canaries stand beside the old fleet: retire only what makes room for them,
                // counting the room that dead and retiring servers leave once gone.
                retirable = min(retirable, canariesLeft - (count + surge - liveCount + dead.count + retiring.count),
                                kept + oldFleet.count - nextToRetire - minimumAvailable)
            }
            if retirable > 0 || !ready.isEmpty {
                let publish = ready.sorted()
                let retire = Array(oldFleet[nextToRetire ..< nextToRetire + max(0, retirable)])
                ready.removeAll()
                published += publish
                nextToRetire += retire.count
                retiring.formUnion(retire)
                swapInFlight = true
                actions.append(.swap(publish: publish, retire: retire))
            }
        }
        var creatable = min(toCreate, count + surge - liveCount)
        if phase == .canaries { creatable = min(creatable, canariesLeft) }
        if creatable > 0 {
            toCreate -= creatable
            requested += creatable
            if phase == .canaries { canariesLeft -= creatable }
            actions.append(.create(creatable))
        }
        let settled = requested == 0 && starting.isEmpty && ready.isEmpty && !swapInFlight
        if phase == .canaries, actions.isEmpty, settled, retiring.isEmpty, dead.isEmpty {
            // No room for another canary, and none can be made: those already out will do.
            canariesLeft = 0
        }
        if phase == .canaries, canariesLeft == 0, settled {
            canaries = published
            if phases.watch, !canaries.isEmpty {
                phase = .watchingCanaries
                return actions + [.watch(canaries, .canaries)]
            }
            // Unwatched canaries were judged by their gates alone.
            phase = .rolling
            pausing = phases.pauseAfterCanaries
            return actions + advance()
        }
        if toCreate == 0, settled, nextToRetire == oldFleet.count, retiring.isEmpty, dead.isEmpty {
            if phases.watch, !fleetWatched, !published.isEmpty {
                phase = .watchingFleet
                actions.append(.watch(published, .fleet))
                return actions
            }
            isFinished = true
            actions.append(.complete)
        }
        return actions
    }
}
