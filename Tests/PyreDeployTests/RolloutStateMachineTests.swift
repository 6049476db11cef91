import PyreCore
@testable import PyreDeploy
import Testing

private func replacingPlan(old: Int, count: Int) -> ServicePlan {
    ServicePlan(service: "web", count: count,
                replace: ids("old", old).map { .init(id: $0, reason: .configChanged([])) },
                create: count, newImage: digest("b"))
}

@Suite struct RolloutStateMachineTests {
    @Test func blueGreenSwapsTheWholeFleetInOneChange() {
        var machine = RolloutStateMachine(plan: replacingPlan(old: 3, count: 3), strategy: RolloutStrategy())
        #expect(machine.handle(.started) == [.create(3)])
        for id in ids("new", 3) { #expect(machine.handle(.created(id)) == [.wait]) }
        // Held while siblings start: they go out together with the retirement they allow.
        #expect(machine.handle(.gatePassed(ServerID("new-1"))) == [.wait])
        #expect(machine.handle(.gatePassed(ServerID("new-2"))) == [.wait])
        #expect(machine.handle(.gatePassed(ServerID("new-3"))) == [.swap(publish: ids("new", 3), retire: ids("old", 3))])
        #expect(machine.availableCount == 3)
        #expect(machine.handle(.swapped) == [.wait])
        #expect(machine.handle(.destroyed(ServerID("old-1"))) == [.wait])
        #expect(machine.handle(.destroyed(ServerID("old-2"))) == [.wait])
        #expect(machine.handle(.destroyed(ServerID("old-3"))) == [.complete])
        #expect(machine.isFinished)
    }

    @Test func oneAtATimeSwapsEachNewServerForTheNextOldOne() {
        let strategy = RolloutStrategy(maxSurge: .absolute(0), maxUnavailable: .absolute(1))
        var machine = RolloutStateMachine(plan: replacingPlan(old: 2, count: 2), strategy: strategy)
        #expect(machine.handle(.started) == [.swap(publish: [], retire: [ServerID("old-1")])])
        #expect(machine.handle(.swapped) == [.wait])
        #expect(machine.handle(.destroyed(ServerID("old-1"))) == [.create(1)])
        #expect(machine.handle(.created(ServerID("new-1"))) == [.wait])
        #expect(machine.handle(.gatePassed(ServerID("new-1")))
            == [.swap(publish: [ServerID("new-1")], retire: [ServerID("old-2")])])
        #expect(machine.handle(.swapped) == [.wait])
        #expect(machine.handle(.destroyed(ServerID("old-2"))) == [.create(1)])
        #expect(machine.handle(.created(ServerID("new-2"))) == [.wait])
        #expect(machine.handle(.gatePassed(ServerID("new-2"))) == [.swap(publish: [ServerID("new-2")], retire: [])])
        #expect(machine.handle(.swapped) == [.complete])
    }

    @Test func surgeOneSwapsEachNewServerForAnOldOne() {
        let strategy = RolloutStrategy(maxSurge: .absolute(1), maxUnavailable: .absolute(0))
        var machine = RolloutStateMachine(plan: replacingPlan(old: 3, count: 3), strategy: strategy)
        #expect(machine.handle(.started) == [.create(1)])
        for index in 1 ... 3 {
            let new = ServerID("new-\(index)"), old = ServerID("old-\(index)")
            #expect(machine.handle(.created(new)) == [.wait])
            #expect(machine.handle(.gatePassed(new)) == [.swap(publish: [new], retire: [old])])
            #expect(machine.availableCount == 3)
            #expect(machine.handle(.swapped) == [.wait])
            #expect(machine.handle(.destroyed(old)) == (index < 3 ? [.create(1)] : [.complete]))
        }
    }

    @Test func oneSwapAtATime() {
        // Surge 1, unavailable 1: a create starts while the first retirement's change is in flight.
        let strategy = RolloutStrategy(maxSurge: .absolute(1), maxUnavailable: .absolute(1))
        var machine = RolloutStateMachine(plan: replacingPlan(old: 3, count: 3), strategy: strategy)
        #expect(machine.handle(.started) == [.swap(publish: [], retire: [ServerID("old-1")]), .create(1)])
        #expect(machine.handle(.created(ServerID("new-1"))) == [.wait])
        #expect(machine.handle(.gatePassed(ServerID("new-1"))) == [.wait])
        #expect(machine.handle(.swapped) == [.swap(publish: [ServerID("new-1")], retire: [ServerID("old-2")])])
    }

    @Test func firstDeployPublishesOnceNoSiblingStarts() {
        var machine = RolloutStateMachine(plan: replacingPlan(old: 0, count: 3), strategy: RolloutStrategy())
        #expect(machine.handle(.started) == [.create(3)])
        for id in ids("new", 3) { _ = machine.handle(.created(id)) }
        #expect(machine.handle(.gatePassed(ServerID("new-2"))) == [.wait])
        #expect(machine.handle(.gatePassed(ServerID("new-1"))) == [.wait])
        #expect(machine.handle(.gatePassed(ServerID("new-3"))) == [.swap(publish: ids("new", 3), retire: [])])
        #expect(machine.handle(.swapped) == [.complete])
    }

    @Test func gateFailureDestroysNewServersNotYetPublishedAndKeepsTheOldFleet() {
        var machine = RolloutStateMachine(plan: replacingPlan(old: 3, count: 3), strategy: RolloutStrategy())
        _ = machine.handle(.started)
        for id in ids("new", 3) { _ = machine.handle(.created(id)) }
        _ = machine.handle(.gatePassed(ServerID("new-1")))
        // The held new-1 counts as not published: destroyed with the others.
        #expect(machine.handle(.gateFailed(ServerID("new-3"), reason: "boom"))
            == [.destroyNow([ServerID("new-3"), ServerID("new-1"), ServerID("new-2")])])
        #expect(machine.handle(.gatePassed(ServerID("new-2"))) == [.wait])
        #expect(machine.handle(.destroyed(ServerID("new-3"))) == [.wait])
        #expect(machine.handle(.destroyed(ServerID("new-1"))) == [.wait])
        #expect(machine.handle(.destroyed(ServerID("new-2"))) == [.fail(reason: "boom")])
        #expect(machine.availableCount == 3 && machine.liveCount == 3)
    }

    @Test func createFailureDestroysHeldServers() {
        var machine = RolloutStateMachine(plan: replacingPlan(old: 0, count: 2), strategy: RolloutStrategy())
        #expect(machine.handle(.started) == [.create(2)])
        _ = machine.handle(.created(ServerID("new-1")))
        #expect(machine.handle(.gatePassed(ServerID("new-1"))) == [.wait])
        #expect(machine.handle(.createFailed(reason: "no capacity")) == [.destroyNow([ServerID("new-1")])])
        #expect(machine.handle(.destroyed(ServerID("new-1"))) == [.fail(reason: "no capacity")])
    }

    @Test func aFailureKeepsTheServersOfASwapInFlightAndWaitsForIt() {
        let strategy = RolloutStrategy(maxSurge: .absolute(1), maxUnavailable: .absolute(1))
        var machine = RolloutStateMachine(plan: replacingPlan(old: 3, count: 3), strategy: strategy)
        _ = machine.handle(.started)
        _ = machine.handle(.swapped)
        _ = machine.handle(.created(ServerID("new-1")))
        #expect(machine.handle(.gatePassed(ServerID("new-1")))
            == [.swap(publish: [ServerID("new-1")], retire: [ServerID("old-2")])])
        #expect(machine.handle(.destroyed(ServerID("old-1"))) == [.create(1)])
        _ = machine.handle(.created(ServerID("new-2")))
        // new-1 goes out in the change in flight: it is not destroyed, and the rollout ends
        // only once that change is visible and old-2 is gone.
        #expect(machine.handle(.gateFailed(ServerID("new-2"), reason: "boom")) == [.destroyNow([ServerID("new-2")])])
        #expect(machine.handle(.destroyed(ServerID("new-2"))) == [.wait])
        #expect(machine.handle(.swapped) == [.wait])
        #expect(machine.handle(.destroyed(ServerID("old-2"))) == [.fail(reason: "boom")])
        #expect(machine.availableCount == 2)
    }

    @Test func serversCreatedAfterAFailureAreDestroyed() {
        var machine = RolloutStateMachine(plan: replacingPlan(old: 0, count: 2), strategy: RolloutStrategy())
        #expect(machine.handle(.started) == [.create(2)])
        #expect(machine.handle(.createFailed(reason: "no capacity")) == [.wait])
        #expect(machine.handle(.created(ServerID("new-1"))) == [.destroyNow([ServerID("new-1")])])
        #expect(machine.handle(.destroyed(ServerID("new-1"))) == [.fail(reason: "no capacity")])
    }

    @Test func deadServersAreDestroyedAtOnce() {
        let plan = ServicePlan(service: "web", count: 2, keep: [ServerID("ok-1")],
                               replace: [.init(id: ServerID("dead-1"), reason: .exited(status: 137))],
                               create: 1, newImage: digest("a"))
        let strategy = RolloutStrategy(maxSurge: .absolute(0), maxUnavailable: .absolute(1))
        var machine = RolloutStateMachine(plan: plan, strategy: strategy)
        #expect(machine.handle(.started) == [.destroyNow([ServerID("dead-1")])])
        #expect(machine.handle(.destroyed(ServerID("dead-1"))) == [.create(1)])
        _ = machine.handle(.created(ServerID("new-1")))
        #expect(machine.handle(.gatePassed(ServerID("new-1"))) == [.swap(publish: [ServerID("new-1")], retire: [])])
        #expect(machine.handle(.swapped) == [.complete])
    }

    @Test func scalingDownRetiresTheExtras() {
        let plan = ServicePlan(service: "web", count: 1, keep: [ServerID("ok-1")], destroyExtra: ids("extra", 2),
                               newImage: digest("a"))
        var machine = RolloutStateMachine(plan: plan, strategy: RolloutStrategy())
        #expect(machine.handle(.started) == [.swap(publish: [], retire: ids("extra", 2))])
        #expect(machine.handle(.swapped) == [.wait])
        #expect(machine.handle(.destroyed(ServerID("extra-1"))) == [.wait])
        #expect(machine.handle(.destroyed(ServerID("extra-2"))) == [.complete])
    }

    @Test func emptyPlanCompletesAtOnce() {
        var machine = RolloutStateMachine(plan: ServicePlan(service: "web", count: 2, keep: ids("k", 2),
                                                            newImage: digest("a")),
                                          strategy: RolloutStrategy())
        #expect(machine.handle(.started) == [.complete])
    }

    @Test func aCanaryIsWatchedBesideTheOldFleetThenTheNewFleetIsWatched() {
        let phases = RolloutStateMachine.Phases(canaries: 1, watch: true)
        var machine = RolloutStateMachine(plan: replacingPlan(old: 3, count: 3), strategy: RolloutStrategy(), phases: phases)
        let canary = ServerID("new-1")
        #expect(machine.handle(.started) == [.create(1)])
        #expect(machine.handle(.created(canary)) == [.wait])
        #expect(machine.handle(.gatePassed(canary)) == [.swap(publish: [canary], retire: [])])
        #expect(machine.handle(.swapped) == [.watch([canary], .canaries)])
        #expect(machine.availableCount == 4)
        // Passed, the canary takes an old server's place; the rest comes as blue/green.
        #expect(machine.handle(.watchPassed) == [.swap(publish: [], retire: [ServerID("old-1")]), .create(2)])
        #expect(machine.handle(.swapped) == [.wait])
        #expect(machine.handle(.destroyed(ServerID("old-1"))) == [.wait])
        for id in ids("new", 3).dropFirst() { #expect(machine.handle(.created(id)) == [.wait]) }
        #expect(machine.handle(.gatePassed(ServerID("new-2"))) == [.wait])
        #expect(machine.handle(.gatePassed(ServerID("new-3")))
            == [.swap(publish: [ServerID("new-2"), ServerID("new-3")], retire: [ServerID("old-2"), ServerID("old-3")])])
        #expect(machine.handle(.swapped) == [.wait])
        #expect(machine.handle(.destroyed(ServerID("old-2"))) == [.wait])
        #expect(machine.handle(.destroyed(ServerID("old-3"))) == [.watch(ids("new", 3), .fleet)])
        #expect(!machine.isFinished)
        #expect(machine.handle(.watchPassed) == [.complete])
    }

    @Test func aCanaryThatFailsItsWatchIsWithdrawnAndTheOldFleetStays() {
        let phases = RolloutStateMachine.Phases(canaries: 1, watch: true)
        var machine = RolloutStateMachine(plan: replacingPlan(old: 3, count: 3), strategy: RolloutStrategy(), phases: phases)
        let canary = ServerID("new-1")
        _ = machine.handle(.started)
        _ = machine.handle(.created(canary))
        _ = machine.handle(.gatePassed(canary))
        _ = machine.handle(.swapped)
        #expect(machine.handle(.watchFailed(reason: "exited")) == [.withdraw([canary])])
        #expect(machine.availableCount == 3)
        #expect(machine.handle(.destroyed(canary)) == [.fail(reason: "exited")])
    }

    @Test func oneAtATimeMakesRoomForItsCanaryAndPausesWhenAsked() {
        let strategy = RolloutStrategy(maxSurge: .absolute(0), maxUnavailable: .absolute(1))
        let phases = RolloutStateMachine.Phases(canaries: 1, watch: true, pauseAfterCanaries: true)
        var machine = RolloutStateMachine(plan: replacingPlan(old: 2, count: 2), strategy: strategy, phases: phases)
        #expect(machine.handle(.started) == [.swap(publish: [], retire: [ServerID("old-1")])])
        #expect(machine.handle(.swapped) == [.wait])
        #expect(machine.handle(.destroyed(ServerID("old-1"))) == [.create(1)])
        #expect(machine.handle(.created(ServerID("new-1"))) == [.wait])
        // The canary joins the remaining old server: nothing more is retired with it.
        #expect(machine.handle(.gatePassed(ServerID("new-1"))) == [.swap(publish: [ServerID("new-1")], retire: [])])
        #expect(machine.handle(.swapped) == [.watch([ServerID("new-1")], .canaries)])
        #expect(machine.handle(.watchPassed) == [.pause])
        #expect(machine.isFinished)
    }

    @Test func aFleetThatFailsItsWatchFailsTheRolloutAndStaysForTheRollback() {
        let phases = RolloutStateMachine.Phases(canaries: 0, watch: true)
        var machine = RolloutStateMachine(plan: replacingPlan(old: 1, count: 1), strategy: RolloutStrategy(), phases: phases)
        _ = machine.handle(.started)
        _ = machine.handle(.created(ServerID("new-1")))
        _ = machine.handle(.gatePassed(ServerID("new-1")))
        #expect(machine.handle(.swapped) == [.wait])
        #expect(machine.handle(.destroyed(ServerID("old-1"))) == [.watch([ServerID("new-1")], .fleet)])
        #expect(machine.handle(.watchFailed(reason: "exited")) == [.fail(reason: "exited")])
    }

    @Test func aFirstDeployHasNoCanaryAndNoWatch() {
        let phases = RolloutStateMachine.Phases(canaries: 1, watch: true)
        var machine = RolloutStateMachine(plan: replacingPlan(old: 0, count: 2), strategy: RolloutStrategy(), phases: phases)
        #expect(machine.handle(.started) == [.create(2)])
        _ = machine.handle(.created(ServerID("new-1")))
        _ = machine.handle(.created(ServerID("new-2")))
        _ = machine.handle(.gatePassed(ServerID("new-1")))
        _ = machine.handle(.gatePassed(ServerID("new-2")))
        #expect(machine.handle(.swapped) == [.complete])
    }

    @Test(arguments: 0 ..< 8)
    func randomRolloutsKeepTheInvariants(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        for _ in 0 ..< 150 {
            var simulation = RolloutSimulation(random: &random)
            simulation.run()
            random = simulation.random
        }
    }
}

/// A world of servers driven by a state machine, with results arriving in random order; it
/// checks the invariants against its own count of servers after every step.
struct RolloutSimulation {
    enum Pending: Equatable {
        case create
        case starting(ServerID)
        /// A swap's change is visible; then its retired servers drain and go.
        case swapped(retired: [ServerID])
        case removal(ServerID)
        case watch(RolloutStateMachine.Watch)
    }

    let plan: ServicePlan
    let strategy: RolloutStrategy
    let limits: (surge: Int, unavailable: Int)
    let badProbability: Double
    var random: SplitMix64
    var machine: RolloutStateMachine

    var servingOld: Set<ServerID>
    var deadOld: Set<ServerID>
    var removing: Set<ServerID> = []
    var startingNew: Set<ServerID> = []
    var readyNew: Set<ServerID> = []
    var publishedNew: Set<ServerID> = []
    var pendingCreates = 0
    var swapInFlight = false
    var pending: [Pending] = []
    var nextID = 0
    var outcome: RolloutStateMachine.Action?
    var failedGate = false
    let initialAvailable: Int
    let phases: RolloutStateMachine.Phases
    /// Whether the plan replaces servers, so that canaries and watches apply.
    var phased: Bool { plan.create > 0 && !plan.replace.isEmpty }
    var canariesPassed = false
    var fleetWatched = false
    /// New servers asked for before the canaries passed their watch.
    var createdBeforeCanaries = 0

    init(random: inout SplitMix64) {
        let count = Int.random(in: 0 ... 6, using: &random)
        let kept = Int.random(in: 0 ... count, using: &random)
        let stale = Int.random(in: 0 ... 6, using: &random)
        let dead = Int.random(in: 0 ... 2, using: &random)
        let extra = kept == count ? Int.random(in: 0 ... 2, using: &random) : 0
        let replace = ids("stale", stale).map { ServicePlan.Replacement(id: $0, reason: .configChanged([])) }
            + ids("dead", dead).map { ServicePlan.Replacement(id: $0, reason: .exited(status: 1)) }
        plan = ServicePlan(service: "web", count: count, keep: ids("kept", kept), replace: replace,
                           create: count - kept, destroyExtra: ids("extra", extra), newImage: digest("b"))
        func quantity(_ random: inout SplitMix64) -> RolloutQuantity {
            Bool.random(using: &random) ? .absolute(Int.random(in: 0 ... 3, using: &random))
                : .percent([0, 25, 50, 100].randomElement(using: &random)!)
        }
        strategy = RolloutStrategy(maxSurge: quantity(&random), maxUnavailable: quantity(&random))
        limits = strategy.limits(count: count)
        badProbability = Bool.random(using: &random) ? 0 : Double.random(in: 0 ... 0.3, using: &random)
        phases = RolloutStateMachine.Phases(canaries: Int.random(in: 0 ... 3, using: &random),
                                            watch: Bool.random(using: &random),
                                            pauseAfterCanaries: Int.random(in: 0 ..< 4, using: &random) == 0)
        machine = RolloutStateMachine(plan: plan, strategy: strategy, phases: phases)
        servingOld = Set(plan.keep + plan.destroyExtra + ids("stale", stale))
        deadOld = Set(ids("dead", dead))
        initialAvailable = servingOld.count
        self.random = random
    }

    var live: Int {
        servingOld.count + deadOld.count + removing.count + pendingCreates + startingNew.count + readyNew.count
            + publishedNew.count
    }
    var available: Int { servingOld.count + publishedNew.count }
    var minimumAvailable: Int { max(0, plan.count - limits.unavailable) }

    mutating func run() {
        apply(machine.handle(.started))
        var steps = 0
        while outcome == nil {
            steps += 1
            #expect(!pending.isEmpty, "rollout stalled: \(plan) \(strategy) \(phases) \(machine)")
            guard !pending.isEmpty, steps < 10_000 else { return }
            let item = pending.remove(at: Int.random(in: 0 ..< pending.count, using: &random))
            switch item {
            case .create:
                pendingCreates -= 1
                if Double.random(in: 0 ..< 1, using: &random) < badProbability / 4 {
                    failedGate = true
                    apply(machine.handle(.createFailed(reason: "no capacity")))
                } else {
                    nextID += 1
                    let id = ServerID("new-\(nextID)")
                    startingNew.insert(id)
                    pending.append(.starting(id))
                    apply(machine.handle(.created(id)))
                }
            case let .starting(id):
                guard startingNew.contains(id) else { continue }
                if Double.random(in: 0 ..< 1, using: &random) < badProbability {
                    failedGate = true
                    apply(machine.handle(.gateFailed(id, reason: "bad")))
                } else {
                    startingNew.remove(id)
                    readyNew.insert(id)
                    apply(machine.handle(.gatePassed(id)))
                }
            case let .swapped(retired):
                swapInFlight = false
                pending += retired.map { .removal($0) }
                apply(machine.handle(.swapped))
            case let .removal(id):
                removing.remove(id)
                apply(machine.handle(.destroyed(id)))
            case let .watch(kind):
                if kind == .canaries { canariesPassed = true } else { fleetWatched = true }
                if Double.random(in: 0 ..< 1, using: &random) < badProbability {
                    failedGate = true
                    if kind == .canaries { canariesPassed = false } else { fleetWatched = false }
                    apply(machine.handle(.watchFailed(reason: "died")))
                } else {
                    apply(machine.handle(.watchPassed))
                }
            }
        }
        checkOutcome()
    }

    mutating func apply(_ actions: [RolloutStateMachine.Action]) {
        for action in actions {
            switch action {
            case let .create(n):
                #expect(n > 0 && outcome == nil && !failedGate)
                if phased, phases.canaries > 0, !canariesPassed {
                    createdBeforeCanaries += n
                    #expect(createdBeforeCanaries <= phases.canaries, "more new servers than canaries before their watch")
                }
                pendingCreates += n
                pending += Array(repeating: .create, count: n)
                #expect(live <= plan.count + limits.surge, "create above surge: \(plan) \(strategy)")
            case let .swap(publish, retire):
                #expect(!swapInFlight, "a swap while another one's change is in flight")
                #expect(startingNew.isEmpty && pendingCreates == 0, "swapped while new servers start")
                #expect(!publish.isEmpty || !retire.isEmpty)
                // Every held server goes out: none is left behind for a later change.
                #expect(Set(publish) == readyNew && publish.count == readyNew.count, "swap left ready servers")
                publishedNew.formUnion(readyNew)
                readyNew.removeAll()
                // Unwatched canaries pass once published.
                if !phases.watch, !publish.isEmpty { canariesPassed = true }
                for id in retire {
                    #expect(servingOld.remove(id) != nil && !plan.keep.contains(id), "retired \(id) twice or a kept one")
                    removing.insert(id)
                }
                swapInFlight = true
                pending.append(.swapped(retired: retire))
                // A swap that only publishes may leave a fleet that started short still short.
                #expect(retire.isEmpty || available >= minimumAvailable,
                        "retired below count − unavailable: \(plan) \(strategy)")
            case let .destroyNow(victims):
                for id in victims {
                    if deadOld.remove(id) == nil {
                        #expect(startingNew.remove(id) != nil || readyNew.remove(id) != nil,
                                "destroyNow of \(id), neither dead nor unpublished new")
                    }
                    removing.insert(id)
                    pending.append(.removal(id))
                }
            case let .withdraw(victims):
                for id in victims {
                    #expect(publishedNew.remove(id) != nil, "withdrew \(id), not a published new server")
                    removing.insert(id)
                    pending.append(.removal(id))
                }
            case let .watch(watched, kind):
                #expect(phased && phases.watch, "a watch the phases did not ask for")
                #expect(startingNew.isEmpty && readyNew.isEmpty && pendingCreates == 0 && !swapInFlight)
                #expect(Set(watched) == publishedNew, "watched \(watched), published \(publishedNew)")
                if kind == .canaries {
                    #expect(watched.count <= min(phases.canaries, plan.create) && !watched.isEmpty)
                    // Beside the old fleet: only what made room for them was retired.
                    #expect(servingOld.count >= initialAvailable
                            - max(0, watched.count - (plan.count + limits.surge - initialAvailable)),
                            "retired more than the canaries needed: \(plan) \(strategy) \(phases)")
                } else {
                    #expect(servingOld == Set(plan.keep) && publishedNew.count == plan.create)
                }
                pending.append(.watch(kind))
            case .pause:
                #expect(outcome == nil && phased && phases.pauseAfterCanaries && phases.canaries > 0)
                #expect(phases.watch ? canariesPassed : true)
                outcome = action
            case .wait:
                break
            case .complete, .fail:
                #expect(outcome == nil)
                outcome = action
            }
        }
        #expect(available >= min(minimumAvailable, initialAvailable), "availability dropped: \(plan) \(strategy)")
    }

    func checkOutcome() {
        #expect(removing.isEmpty && pendingCreates == 0 && startingNew.isEmpty && readyNew.isEmpty && deadOld.isEmpty)
        #expect(!swapInFlight, "finished with a swap in flight")
        switch outcome {
        case .complete:
            #expect(!failedGate)
            #expect(servingOld == Set(plan.keep), "old servers left after completion")
            #expect(publishedNew.count == plan.create && servingOld.count + publishedNew.count == plan.count)
            #expect(!(phased && phases.watch) || fleetWatched, "completed without the fleet watch")
        case .pause:
            #expect(!failedGate)
        case .fail:
            #expect(failedGate)
        default:
            Issue.record("no outcome")
        }
    }
}

private func ids(_ prefix: String, _ count: Int) -> [ServerID] {
    (0 ..< count).map { ServerID("\(prefix)-\($0 + 1)") }
}
