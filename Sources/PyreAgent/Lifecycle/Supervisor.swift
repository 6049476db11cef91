import PyreAPI
import ServiceLifecycle

/// Once the parts servers reach are up: recovers what the previous agent left (orphans are
/// destroyed), deploys, then keeps the system as declared (self-healing and phoenix
/// recreation) until shutdown, when it destroys the servers.
struct Supervisor: Service {
    let agent: Agent
    let interval: Duration
    let console: ProgressSink
    /// What servers and the recovery need: the network, DNS, syslog, the events API.
    let after: [Gate]
    /// Opened after recovery, when the agent may take requests.
    let recovered: Gate
    /// Opened once the control API has said where everything listens; the deploy's lines follow.
    let announced: Gate
    /// Opened once the first deploy has ended, whatever its outcome.
    let deployed: Gate

    func run() async throws {
        guard await waitForTurn(after) else { return }
        do {
            try await agent.recover()
        } catch {
            await agent.destroyUnrecordedServers()
            throw error
        }
        recovered.open()
        try? await cancelWhenGracefulShutdown {
            try await announced.wait()
            await deployAtStart()
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                await agent.tick(progress: console)
            }
        }
        console(.stopping)
        await agent.shutdown(progress: console)
    }

    private func deployAtStart() async {
        defer { deployed.open() }
        do {
            let record = try await agent.deploy(trigger: agent.startTrigger, progress: console)
            if record.outcome == .completed { try await printServers() }
        } catch is CancellationError {
            return
        } catch {
            console(.startFailed(message: describe(error)))
        }
    }

    private func printServers() async throws {
        let status = try await agent.status()
        for service in status.services {
            for server in service.servers {
                console(.serverReady(server))
            }
        }
    }
}
