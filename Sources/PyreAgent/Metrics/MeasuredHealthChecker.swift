import Foundation
import PyreCore
import Synchronization

/// Times every probe of the checker it wraps, for the metrics and the fleet page, and keeps
/// each server's last probe: how long it took and why it failed.
final class MeasuredHealthChecker: HealthChecker {
    private let probe: any HealthChecker
    private let metrics: AgentMetrics
    private let last = Mutex<[String: LastProbe]>([:])

    struct LastProbe: Sendable, Equatable {
        var latency: Duration
        /// Nil when the probe passed.
        var failure: String?
    }

    init(_ probe: any HealthChecker, metrics: AgentMetrics) {
        self.probe = probe
        self.metrics = metrics
    }

    func check(address: String, port: Int, spec: HealthCheckSpec) async -> HealthResult {
        await measure(address: address, port: port) { await probe.check(address: address, port: port, spec: spec) }
    }

    func checkGate(of server: ServerInfo, spec: HealthCheckSpec) async -> HealthResult {
        await measure(address: server.address, port: server.port) { await probe.checkGate(of: server, spec: spec) }
    }

    /// The last probe of the server at `address:port`, if it was probed.
    func lastProbe(address: String, port: Int) -> LastProbe? {
        last.withLock { $0["\(address):\(port)"] }
    }

    /// Forgets servers that are gone, so the table holds only live ones.
    func keepOnly(_ servers: [ServerInfo]) {
        let live = Set(servers.map { "\($0.address):\($0.port)" })
        last.withLock { $0 = $0.filter { live.contains($0.key) } }
    }

    private func measure(address: String, port: Int, _ run: () async -> HealthResult) async -> HealthResult {
        let start = ContinuousClock.now
        let result = await run()
        let latency = ContinuousClock.now - start
        metrics.healthChecked(passed: result.passed, took: latency)
        let failure: String? = if case .fail(let reason) = result { reason } else { nil }
        last.withLock { $0["\(address):\(port)"] = LastProbe(latency: latency, failure: failure) }
        return result
    }
}
