import PyreCore

/// Health of EC2 servers: the instance must run and pass EC2's system and instance status
/// checks; then, when the agent can reach the instances' addresses, the service's own HTTP or
/// TCP check must pass too. Concurrent checks share one DescribeInstanceStatus call.
public struct EC2HealthChecker: HealthChecker {
    let provider: EC2ServerProvider
    /// The service's check against the instance address; nil when the agent cannot reach
    /// the instances (`aws: { health: instance }`), and EC2's checks decide alone.
    let probe: (any HealthChecker)?

    public init(provider: EC2ServerProvider, probe: (any HealthChecker)?) {
        self.provider = provider
        self.probe = probe
    }

    public func check(address: String, port: Int, spec: HealthCheckSpec) async -> HealthResult {
        guard let id = provider.known.id(atAddress: address) else {
            return .fail(reason: "no instance of this system has address \(address)")
        }
        return await check(instance: id, address: address, port: port, spec: spec)
    }

    public func checkGate(of server: ServerInfo, spec: HealthCheckSpec) async -> HealthResult {
        await check(instance: server.id.rawValue, address: server.address, port: server.port, spec: spec)
    }

    private func check(instance: String, address: String, port: Int, spec: HealthCheckSpec) async -> HealthResult {
        let status: EC2InstanceStatus?
        do {
            status = try await provider.statuses.value(for: instance)
        } catch {
            return .fail(reason: "EC2 status of \(instance) unknown: \(error)")
        }
        guard let status else { return .fail(reason: "EC2 does not know instance \(instance)") }
        if let problem = status.problem { return .fail(reason: problem) }
        return await probe?.check(address: address, port: port, spec: spec) ?? .pass
    }
}
