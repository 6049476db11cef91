import Foundation
import PyreAPI
import PyreCore

/// What the dashboard's live feed sends each time it changes: the fleet as `pyre status`
/// reports it, with each server's last health probe, the services' `max_age`, the entry points
/// with the servers they send to, and the deployment history.
struct FleetView: Encodable {
    /// Latency to a tenth of a millisecond: finer would only make the feed send more often.
    struct Probe: Encodable, Equatable {
        var latencyMilliseconds: Double
        var failure: String?

        enum CodingKeys: String, CodingKey {
            case failure
            case latencyMilliseconds = "latency_ms"
        }
    }

    struct Entrypoint: Encodable {
        var name: String
        var listen: String
        var service: String
        /// Ids of the published servers of its service, where new connections go.
        var backends: [String]
    }

    var status: StatusReport
    /// Service → seconds; services without `max_age` are absent.
    var maxAge: [String: Double]
    /// Server id → its last probe.
    var probes: [String: Probe]
    var entrypoints: [Entrypoint]
    var history: [DeploymentRecord]

    enum CodingKeys: String, CodingKey {
        case status, probes, entrypoints, history
        case maxAge = "max_age"
    }
}

extension Agent {
    func fleetView() async throws -> FleetView {
        let status = try await status()
        var probes: [String: FleetView.Probe] = [:]
        for server in status.services.flatMap(\.servers) {
            guard let probe = health.lastProbe(address: server.address, port: server.port) else { continue }
            probes[server.id] = FleetView.Probe(latencyMilliseconds: (probe.latency.timeInterval * 10_000).rounded() / 10,
                                                failure: probe.failure)
        }
        var maxAge: [String: Double] = [:]
        for service in desired ?? [] {
            if let age = service.spec.maxAge { maxAge[service.spec.name] = age.timeInterval }
        }
        let entrypoints = await identity.openEntrypoints.map { entrypoint in
            FleetView.Entrypoint(name: entrypoint.name, listen: entrypoint.listen, service: entrypoint.service,
                                 backends: status.services.first { $0.name == entrypoint.service }?.servers
                                     .filter(\.published).map(\.id) ?? [])
        }
        return FleetView(status: status, maxAge: maxAge, probes: probes, entrypoints: entrypoints, history: await history())
    }
}
