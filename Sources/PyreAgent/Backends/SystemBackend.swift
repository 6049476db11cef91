import Foundation
import Logging
import PyreAPI
import PyreAWS
import PyreCore
import PyreImages
import ServiceLifecycle

/// What a system runs on: where its servers are created, how their health is told, who
/// publishes their names besides the agent's own DNS, and how they reach the agent. The
/// agent is written against this alone; pyre.yml's `provider:` picks one
/// (``SystemBackends/standard``).
protocol SystemBackend: Sendable {
    var provider: any ServerProvider { get }
    var health: any HealthChecker { get }
    /// Publishes servers besides the agent's own DNS server and entry points, or nil.
    var publisher: (any ServerPublisher)? { get }
    /// Where the agent serves DNS, the events API and syslog.
    var systemAddress: String { get }
    /// The DNS server's port on the system address; 0 picks a free one.
    var dnsPort: Int { get }

    /// The variables that tell a server where the agent's services are, given where they
    /// listen; empty when servers cannot reach them.
    func serverEnvironment(_ services: AgentServiceAddresses) -> [String: String]

    /// Runs once, before the agent's listeners start (it may make the address they bind).
    func prepare() async throws
    /// Where this backend's provider finds the image baked from `recipe` as `digest` into `root`.
    func imageLocation(of recipe: ImageRecipe, digest: ImageDigest, bakedAt root: URL) throws -> ImageLocation
    /// Refuses, before anything is baked, a manifest this backend cannot run.
    func validate(_ spec: SystemSpec) throws
    /// Runs after a deploy's images are baked, before their locations are asked for (where a
    /// cloud image is made from each).
    func prepareImages(_ spec: SystemSpec, baked: [BakedImage], progress: @escaping ProgressSink) async throws

    /// Runs before each rollout of `services`.
    func prepareDeploy(_ spec: SystemSpec, services: [DesiredService]) async throws
    /// Runs on every pass of the supervisor.
    func tick() async
    /// Long-running work of its own, run in the agent's service group.
    var services: [any Service] { get }
    /// What `pyre up` says about it, after the agent's own addresses.
    var startupLines: [String] { get }

    /// After every server is gone: undoes ``prepare()``.
    func teardown() async throws
}

/// Where the agent's services for servers listen.
struct AgentServiceAddresses: Sendable {
    var dns: String
    var eventsURL: String
    var eventsToken: String
    var syslog: String
    var relp: String
    /// Syslog over TLS, when served.
    var syslogTLS: String?
    /// The CA certificate that checks the agent's TLS services, when they are across a network.
    var caPEM: String?
}

/// What a backend is made from: the agent's settings and the parts it made before.
struct BackendContext: Sendable {
    var spec: SystemSpec
    var configuration: AgentConfiguration
    var state: StateDirectory
    var logs: LogsLayer
    /// Where and with what TLS servers across a network reach the agent (provider aws).
    var network: NetworkTLS?
    var logger: Logger
}

typealias BackendFactory = @Sendable (BackendContext) throws -> any SystemBackend

extension SystemBackend {
    func prepareImages(_ spec: SystemSpec, baked: [BakedImage], progress: @escaping ProgressSink) async throws {}
}

enum SystemBackends {
    /// The backend pyre.yml's `provider:` names.
    static let standard: BackendFactory = { context in
        switch context.spec.provider {
        case .local: try LocalBackend(context)
        case .aws: try AWSBackend(spec: context.spec, network: context.network!,
                                  bakedAMIs: BakedAMIs(file: context.state.bakedAMIsFile),
                                  amiWork: context.state.amiBakes, logger: context.logger,
                                  environment: context.configuration.environment)
        }
    }
}
