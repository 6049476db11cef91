import Foundation
import Logging
import PyreCore
import ServiceLifecycle
import UnixSignals

/// `pyre up`: runs the agent in the foreground until SIGINT or SIGTERM, then destroys the
/// servers and keeps the persistent data.
public enum AgentRunner {
    public static func run(configuration: AgentConfiguration, logger: Logger, console: @escaping ProgressSink) async throws {
        let agent = try await Agent(configuration: configuration, logger: logger)
        let services = try AgentServices(agent: agent, console: console, logger: logger, signals: [.sigterm, .sigint])
        try await services.group.run()
        console(ProgressLine(.deploy, "stopped"))
    }
}

/// One aligned line per server, as `pyre up` and `pyre status` print it.
public func serverLine(_ server: StatusReport.Server) -> String {
    let id = server.id.padding(toLength: max(18, server.id.count), withPad: " ", startingAt: 0)
    let address = "\(server.address):\(server.port)".padding(toLength: 22, withPad: " ", startingAt: 0)
    let health = server.health.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
    let image = ImageDigest(server.image).short
    return "\(id) gen \(server.generation)  \(address) \(health) \(image)"
}
