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

/// I/O a running deploy hands to its child tasks.
enum RolloutJob: Sendable {
    /// One server, or all of a step's servers when the provider creates in batches.
    case create(service: String, specs: [ServerSpec])
    case gate(service: String, server: ServerInfo, check: HealthCheckSpec)
    case swap(Swap)
    case unpublish(Removal, published: [ServerID])
    case drain(Removal)
    case destroy(Removal)
}

/// What a job reports back.
enum RolloutMessage: Sendable {
    case created(service: String, servers: [ServerInfo], failures: [String])
    case gatePassed(service: String, id: ServerID, seconds: Double)
    case gateFailed(service: String, id: ServerID, reason: String, output: [String])
    case swapped(Swap)
    case unpublished(Removal, published: [ServerID])
    case drained(Removal)
    case destroyed(Removal, failures: [ServerID: String])
}

/// Performs ``RolloutJob``s; holds no state, so any number run at once.
struct RolloutWorker: Sendable {
    let provider: any ServerProvider
    let health: any HealthChecker
    let publisher: any ServerPublisher
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
        func failed(_ reason: String) async -> RolloutMessage {
            .gateFailed(service: service, id: server.id, reason: reason,
                        output: await provider.recentOutput(of: server.id, lines: outputLines))
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
                    return .gatePassed(service: service, id: server.id, seconds: (clock.now - start).timeInterval)
                }
            case let .fail(reason):
                passes = 0
                failure = reason
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
