import Foundation
import Logging
import PyreAPI
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
        console(.stopped)
    }
}
