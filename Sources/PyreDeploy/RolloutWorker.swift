import Foundation
import PyreCore

/// Servers leaving a rollout together: unpublished, drained (retirements only) and destroyed.
struct Removal: Sendable {
    var service: String
    var ids: [ServerID]
    /// Nil for dead or failed servers, destroyed without draining.
    var drain: Duration?
}

/// A rollout's swap: ready new servers go out as retired old ones come out, in one publisher
/// change; the retired ones are then drained and destroyed.
struct Swap: Sendable {
    var service: String
    var publishing: [ServerInfo]
    /// The retired servers that are published (all of them, unless a rollout was interrupted).
    var unpublishing: [ServerID]
    var retiring: Removal
}

/// A watch of published new servers (canaries, or the new fleet after cut-over).
struct WatchJob: Sendable {
    var service: String
    var kind: RolloutStateMachine.Watch
    var servers: [ServerInfo]
    var check: HealthCheckSpec
    var duration: Duration
    /// The error-log bound of the strategy, if any.
    var maxErrorLogs: Double?
}

/// I/O a running deploy hands to its child tasks.
enum RolloutJob: Sendable {
    /// One server, or all of a step's servers when the provider creates in batches.
    case create(service: String, specs: [ServerSpec])
    case gate(service: String, server: ServerInfo, check: HealthCheckSpec)
    case swap(Swap)
    case unpublish(Removal, published: [ServerID])
    case drain(Removal)
    case destroy(Removal)
    case watch(WatchJob)
}

/// What a job reports back.
enum RolloutMessage: Sendable {
    case created(service: String, servers: [ServerInfo], failures: [String])
    case gatePassed(service: String, id: ServerID, seconds: Double, detail: String)
    case gateFailed(service: String, id: ServerID, reason: String, output: [String], detail: String)
    case swapped(Swap)
    case unpublished(Removal, published: [ServerID])
    case drained(Removal)
    case destroyed(Removal, failures: [ServerID: String])
    /// `died`: watched servers that exited or vanished (a withdrawal need not drain them).
    case watched(WatchJob, DeployDecision, died: [ServerID])
}

/// Performs ``RolloutJob``s; holds no state, so any number run at once.
struct RolloutWorker: Sendable {
    let provider: any ServerProvider
    let health: any HealthChecker
    let publisher: any ServerPublisher
    /// Where a watch counts error logs; without it a watch judges health alone.
    let logCensus: (any LogCensus)?
    let outputLines: Int
    let gateProgressInterval: Duration

    /// `progress` hears how health gates that take a while are going.
    func perform(_ job: RolloutJob, progress: @Sendable (DeployProgress) -> Void) async -> RolloutMessage {
        switch job {
        case let .create(service, specs):
            return await create(service: service, specs: specs)
        case let .gate(service, server, check):
            return await gate(service: service, server: server, check: check, progress: progress)
        case let .swap(swap):
            // A retirement of servers never published changes no name.
            if !swap.publishing.isEmpty || !swap.unpublishing.isEmpty {
                await publisher.update(publishing: swap.publishing, unpublishing: swap.unpublishing)
            }
            return .swapped(swap)
        case let .unpublish(removal, published):
            await publisher.unpublish(published)
            return .unpublished(removal, published: published)
        case let .drain(removal):
            await publisher.drain(removal.ids, within: removal.drain ?? .zero)
            return .drained(removal)
        case let .destroy(removal):
            return .destroyed(removal, failures: await destroy(removal.ids))
        case let .watch(job):
            let (decision, died) = await watch(job)
            return .watched(job, decision, died: died)
        }
    }

    /// The returned servers carry the provider's ids, which may differ from the specs'.
    private func create(service: String, specs: [ServerSpec]) async -> RolloutMessage {
        var servers: [ServerInfo] = []
        var failures: [String] = []
        for result in await provider.create(batch: specs) {
            switch result {
            case let .success(info): servers.append(info)
            case let .failure(error): failures.append("could not create a server of \(service): \(error)")
            }
        }
        return .created(service: service, servers: servers, failures: failures)
    }

    /// Waits until the server passed `check.successes` probes in a row; fails at once when its
    /// process exits, and when `check.deadline` passes. Every `gateProgressInterval` it reports
    /// how it goes, so a slow gate is not a silent one.
    private func gate(service: String, server: ServerInfo, check: HealthCheckSpec,
                      progress: @Sendable (DeployProgress) -> Void) async -> RolloutMessage {
        let clock = ContinuousClock()
        let start = clock.now
        var nextReport = start + gateProgressInterval
        var probes = 0
        var passes = 0
        var failure: String?
        /// Distinct failure reasons in the order first seen, with how often each came.
        var reasons: [(reason: String, count: Int)] = []
        func detail() -> String {
            let seconds = (clock.now - start).timeInterval.formatted(.number.precision(.fractionLength(1)))
            let failed = reasons.map { "\($0.count)× \($0.reason)" }.joined(separator: "; ")
            return "\(probes) probe\(probes == 1 ? "" : "s") in \(seconds) s" + (failed.isEmpty ? ", none failed" : "; failed: \(failed)")
        }
        func failed(_ reason: String) async -> RolloutMessage {
            .gateFailed(service: service, id: server.id, reason: reason,
                        output: await provider.recentOutput(of: server.id, lines: outputLines), detail: detail())
        }
        while true {
            if Task.isCancelled { return await failed("the deploy was cancelled") }
            do {
                guard let current = try await provider.inspect(server.id) else {
                    return await failed("the provider no longer runs it")
                }
                if case let .exited(status) = current.state { return await failed("exited with status \(status)") }
            } catch {
                // A provider hiccup is not the server's fault: the probe below decides.
            }
            probes += 1
            switch await health.checkGate(of: server, spec: check) {
            case .pass:
                passes += 1
                if passes >= check.successes {
                    return .gatePassed(service: service, id: server.id, seconds: (clock.now - start).timeInterval,
                                       detail: detail())
                }
            case let .fail(reason):
                passes = 0
                failure = reason
                if let index = reasons.firstIndex(where: { $0.reason == reason }) {
                    reasons[index].count += 1
                } else {
                    reasons.append((reason, 1))
                }
            }
            if clock.now + check.interval > start + check.deadline {
                return await failed("not healthy within \(check.deadline) (last probe: \(failure ?? "no probe answered"))")
            }
            if clock.now >= nextReport {
                progress(.gating(server.id, seconds: (clock.now - start).timeInterval, probes: probes, passes: passes,
                                 lastFailure: failure))
                nextReport = clock.now + gateProgressInterval
            }
            do { try await Task.sleep(for: check.interval) } catch { return await failed("the deploy was cancelled") }
        }
    }

    /// Probes every watched server each `check.interval` for `duration`: one that exits, or
    /// fails `check.failures` probes in a row, fails the watch at once. Then the error gate,
    /// when the strategy has one: the watched servers' share of error-or-worse log records
    /// must not exceed the bound above the share of the service's other servers.
    private func watch(_ job: WatchJob) async -> (DeployDecision, died: [ServerID]) {
        let clock = ContinuousClock()
        let started = clock.now
        let since = Date()
        let ids = job.servers.map(\.id)
        func decision(_ passed: Bool, _ detail: String, culprits: [ServerID] = []) -> DeployDecision {
            let seconds = (clock.now - started).timeInterval.formatted(.number.precision(.fractionLength(1)))
            return DeployDecision(kind: job.kind == .canaries ? .canaryWatch : .fleetWatch, service: job.service,
                                  servers: ids, passed: passed, detail: "\(detail) (watched \(seconds) s)",
                                  culprits: culprits, at: Date())
        }
        var inARow: [ServerID: Int] = [:]
        var probes = 0
        var failedProbes = 0
        repeat {
            let results = await withTaskGroup(of: (ServerID, WatchProblem?).self) { group in
                for server in job.servers {
                    group.addTask { (server.id, await self.problem(with: server, check: job.check)) }
                }
                return await group.reduce(into: [(ServerID, WatchProblem?)]()) { $0.append($1) }
            }
            for (id, problem) in results.sorted(by: { $0.0 < $1.0 }) {
                probes += 1
                switch problem {
                case nil:
                    inARow[id] = 0
                case let .died(how)?:
                    return (decision(false, "\(id) \(how) during the watch", culprits: [id]), [id])
                case let .unhealthy(reason)?:
                    failedProbes += 1
                    inARow[id, default: 0] += 1
                    if inARow[id]! >= job.check.failures {
                        return (decision(false, "\(id) failed \(inARow[id]!) health checks in a row (last: \(reason))",
                                         culprits: [id]), [])
                    }
                }
            }
            if Task.isCancelled { return (decision(false, "the deploy was cancelled"), []) }
            try? await Task.sleep(for: job.check.interval)
        } while clock.now - started < job.duration
        let health = "\(job.servers.count) server(s) healthy: \(probes) probes, \(failedProbes) failed"
        guard let bound = job.maxErrorLogs, let logCensus else { return (decision(true, health), []) }
        let census = await logCensus.census(service: job.service, servers: Set(ids), since: since)
        let limit = bound + (census.otherShare ?? 0)
        let figures = "error share \(percent(census.share)) (\(census.errors) of \(census.records) records)"
            + (census.otherShare.map { " against \(percent($0)) on the other servers" } ?? "")
            + ", bound \(percent(bound))"
        let passed = census.share <= limit
        return (decision(passed, "\(health); \(figures)" + (passed ? "" : ": too many errors"),
                         culprits: passed ? [] : ids), [])
    }

    private enum WatchProblem {
        case died(String)
        case unhealthy(String)
    }

    /// Nil when the server runs and answers its probe.
    private func problem(with server: ServerInfo, check: HealthCheckSpec) async -> WatchProblem? {
        do {
            guard let current = try await provider.inspect(server.id) else { return .died("vanished from the provider") }
            if case let .exited(status) = current.state { return .died("exited with status \(status)") }
        } catch {
            // A provider hiccup is not the server's fault: the probe decides.
        }
        switch await health.check(address: server.address, port: server.port, spec: check) {
        case .pass: return nil
        case let .fail(reason): return .unhealthy(reason)
        }
    }

    private func percent(_ share: Double) -> String {
        (share * 100).formatted(.number.precision(.fractionLength(2))) + "%"
    }

    /// Destroys the servers with one batch call, then retries the ones that failed, up to three
    /// tries in all; returns the ones that still failed.
    func destroy(_ ids: [ServerID]) async -> [ServerID: String] {
        var failures: [ServerID: String] = [:]
        var remaining = ids
        for attempt in 0 ..< 3 where !remaining.isEmpty {
            if attempt > 0 { try? await Task.sleep(for: .milliseconds(100 << (attempt - 1))) }
            failures = await provider.destroy(batch: remaining)
            remaining = remaining.filter { failures[$0] != nil }
        }
        return failures
    }
}
