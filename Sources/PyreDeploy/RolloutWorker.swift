import Foundation
import PyreCore

/// Servers leaving a rollout together: unpublished, drained (retirements only) and destroyed.
struct Removal: Sendable {
    var service: String
    var ids: [ServerID]
    /// Nil for dead or failed servers, destroyed without draining.
    var drain: Duration?
}

/// I/O a running deploy hands to its child tasks.
enum RolloutJob: Sendable {
    case create(service: String, specs: [ServerSpec])
    case gate(service: String, server: ServerInfo, check: HealthCheckSpec)
    case publish(service: String, server: ServerInfo)
    case unpublish(Removal, published: [ServerID])
    case drain(Removal)
    case destroy(Removal)
}

/// What a job reports back.
enum RolloutMessage: Sendable {
    case created(service: String, servers: [ServerInfo], failures: [String])
    case gatePassed(service: String, id: ServerID, seconds: Double)
    case gateFailed(service: String, id: ServerID, reason: String, output: [String])
    case published(service: String, id: ServerID)
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

    func perform(_ job: RolloutJob) async -> RolloutMessage {
        switch job {
        case let .create(service, specs):
            return await create(service: service, specs: specs)
        case let .gate(service, server, check):
            return await gate(service: service, server: server, check: check)
        case let .publish(service, server):
            await publisher.publish(server)
            return .published(service: service, id: server.id)
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

    private func create(service: String, specs: [ServerSpec]) async -> RolloutMessage {
        await withTaskGroup(of: Result<ServerInfo, any Error>.self) { group in
            for spec in specs {
                group.addTask {
                    do { return .success(try await provider.create(spec)) } catch { return .failure(error) }
                }
            }
            var servers: [ServerInfo] = []
            var failures: [String] = []
            for await result in group {
                switch result {
                case let .success(info): servers.append(info)
                case let .failure(error): failures.append("could not create a server of \(service): \(error)")
                }
            }
            return .created(service: service, servers: servers, failures: failures)
        }
    }

    /// Waits until the server passed `check.successes` probes in a row; fails at once when its
    /// process exits, and when `check.deadline` passes.
    private func gate(service: String, server: ServerInfo, check: HealthCheckSpec) async -> RolloutMessage {
        let clock = ContinuousClock()
        let start = clock.now
        var passes = 0
        var lastFailure = "no probe answered"
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
            switch await health.checkGate(of: server, spec: check) {
            case .pass:
                passes += 1
                if passes >= check.successes {
                    return .gatePassed(service: service, id: server.id, seconds: (clock.now - start).timeInterval)
                }
            case let .fail(reason):
                passes = 0
                lastFailure = reason
            }
            if clock.now + check.interval > start + check.deadline {
                return await failed("not healthy within \(check.deadline) (last probe: \(lastFailure))")
            }
            do { try await Task.sleep(for: check.interval) } catch { return await failed("the deploy was cancelled") }
        }
    }

    /// Destroys every server at once, retrying each a few times; returns the ones that failed.
    private func destroy(_ ids: [ServerID]) async -> [ServerID: String] {
        await withTaskGroup(of: (ServerID, String?).self) { group in
            for id in ids {
                group.addTask {
                    var lastError = ""
                    for attempt in 0 ..< 3 {
                        do {
                            try await provider.destroy(id)
                            return (id, nil)
                        } catch {
                            lastError = "\(error)"
                            try? await Task.sleep(for: .milliseconds(100 << attempt))
                        }
                    }
                    return (id, lastError)
                }
            }
            var failures: [ServerID: String] = [:]
            for await (id, error) in group { if let error { failures[id] = error } }
            return failures
        }
    }
}
