import Foundation
import PyreAPI
import PyreCore
import PyreDeploy

/// `pyre status`: the declared services and what runs of them, each server with its health
/// as the reconciler last saw it.
struct StatusReporter: Sendable {
    let system: String
    /// The isolation mode's name, as `pyre status` labels the system.
    let isolation: String
    let provider: any ServerProvider
    let reconciler: Reconciler

    /// `desired` is what the last successful deploy rolled out (nil before one did).
    func report(desired: [DesiredService]?) async throws -> StatusReport {
        let agentState = await reconciler.state
        let serviceHealth = await reconciler.serviceHealth()
        var healthByServer: [ServerID: Bool] = [:]
        for server in serviceHealth.values.flatMap(\.servers) {
            if case .some(let result) = server.lastResult { healthByServer[server.id] = result.passed }
        }
        let running = try await provider.list()
        let declared = desired?.map(\.spec.name) ?? []
        let names = declared + Set(running.map(\.service)).subtracting(declared).sorted()
        let services = names.map { name in
            let wanted = desired?.first { $0.spec.name == name }
            let servers = running.filter { $0.service == name }.map { info in
                let record = agentState.servers[info.id]
                return StatusReport.Server(id: info.id.rawValue, generation: info.generation, image: info.image.rawValue,
                                           address: info.address, port: info.port,
                                           health: Self.health(of: info, checked: healthByServer[info.id], record: record),
                                           published: record?.published ?? false, createdAt: info.createdAt)
            }
            let death = agentState.lastDeath(of: name).map { record in
                "\(record.info.id) \(record.destroyReason ?? "")"
                    + (record.destroyedAt.map { ", replaced at \($0.formatted(.iso8601))" } ?? "")
            }
            return StatusReport.Service(name: name, count: wanted?.spec.count ?? 0, image: wanted?.image.rawValue,
                                        crashLooping: serviceHealth[name]?.crashLooping ?? false,
                                        onHostOS: wanted?.imageLocation.isHostOS ?? false, servers: servers,
                                        lastDeath: death)
        }
        return StatusReport(system: system, isolation: isolation,
                            runningDeployment: agentState.runningDeployment?.number, services: services)
    }

    /// The last check's verdict, else the journal's (a server the previous agent gated).
    static func health(of info: ServerInfo, checked: Bool?, record: PyreCore.ServerRecord?) -> PyreAPI.ServerHealth {
        switch info.state {
        case .exited: .exited
        case .running:
            if let checked { checked ? .healthy : .unhealthy } else { record?.healthy == true ? .healthy : .starting }
        }
    }
}
