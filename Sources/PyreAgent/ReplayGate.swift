import PyreCore
import PyreDeploy
import PyreEvents
import Synchronization

/// Holds back new servers of a replaying service until they have caught up: the first gate
/// probe of a server fixes its target (the stream's version, or `$all`'s position, at that
/// moment), and the gate passes only once the server's health answer reports a
/// `Pyre-Position` at least that high. Live servers are probed as usual.
final class ReplayGate: HealthChecker {
    private let probe: any HealthChecker
    private let store: any EventStore
    private let targets = Mutex<[ServerID: Int64]>([:])

    init(probe: any HealthChecker, store: any EventStore) {
        self.probe = probe
        self.store = store
    }

    func check(address: String, port: Int, spec: HealthCheckSpec) async -> HealthResult {
        await probe.check(address: address, port: port, spec: spec)
    }

    func checkGate(of server: ServerInfo, spec: HealthCheckSpec) async -> HealthResult {
        guard let replay = spec.replay else { return await probe.checkGate(of: server, spec: spec) }
        let target: Int64
        if let known = targets.withLock({ $0[server.id] }) {
            target = known
        } else {
            do {
                target = try await currentPosition(of: replay.stream)
            } catch {
                return .fail(reason: "cannot read the event store for the replay gate: \(error)")
            }
            targets.withLock { $0[server.id] = target }
        }
        var gated = spec
        gated.requiredPosition = target
        let result = await probe.checkGate(of: server, spec: gated)
        if result.passed { targets.withLock { $0[server.id] = nil } }
        return result
    }

    /// -1 when there is nothing to replay yet.
    private func currentPosition(of stream: String) async throws -> Int64 {
        if stream == StreamNames.all { return try await store.lastPosition() ?? -1 }
        return try await store.version(of: stream) ?? -1
    }
}
