import ArgumentParser
import Foundation
import Logging
import PyreAgent
import PyreCLI
import PyreLocal

@main
struct Pyre: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pyre",
        abstract: "Run a system of immutable servers: bake images, roll out brand-new servers, destroy the old.",
        discussion: """
        Exit codes: 0 success; 1 the operation failed (deploy failed, drift found, bad manifest);
        2 `plan` found changes; 3 no agent is running for the system.
        """,
        subcommands: [Up.self] + PyreCommands.all)
}

extension IsolationMode: ExpressibleByArgument {}

extension Logger.Level: @retroactive ExpressibleByArgument {}

struct Up: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the agent in the foreground: bake, deploy, keep the system as declared. Ctrl-C destroys the servers and keeps persistent data.")

    @OptionGroup var options: SystemOptions

    @Option(help: "namespaces (default when root on Linux) or process.")
    var isolation: IsolationMode?

    @Option(help: "Namespace mode: the servers' IPv4 subnet (default: 10.213.N.0/24, N from the system name).")
    var subnet: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error.")
    var logLevel: Logger.Level = .warning

    @Option(name: .customLong("control-port"),
            help: "The control API's port on 127.0.0.1 (default: a free one); fix it where Prometheus scrapes /metrics.")
    var controlPort: Int?

    @Option(name: .customLong("keep-deployments"),
            help: "After each deploy, keep the images of this many past deployments (for going back) besides the live servers'.")
    var keepDeployments: Int = AgentConfiguration.defaultKeptDeployments

    func run() async throws {
        try await reportingErrors(logLevel: logLevel) {
            var configuration = AgentConfiguration(
                systemDirectory: options.systemURL, stateDirectory: options.state.root,
                isolation: isolation ?? .automatic(), subnet: subnet)
            configuration.keptDeployments = keepDeployments
            if let controlPort { configuration.controlPort = controlPort }
            try await AgentRunner.run(configuration: configuration, logger: Logger(label: "pyre"),
                                      console: Terminal.progress)
        }
    }
}
