import Foundation
import PyreLocal

/// How to run an agent for one system.
public struct AgentConfiguration: Sendable {
    /// Directory holding `pyre.yml`.
    public var systemDirectory: URL
    /// State directory; defaults to `SYSTEM_DIR/.pyre`.
    public var stateDirectory: URL
    public var isolation: IsolationMode
    /// Namespace mode: the servers' subnet; nil picks one from the system name.
    public var subnet: String?
    /// Control API address; port 0 picks a free port, written to `STATE/agent.json`.
    public var controlHost: String
    public var controlPort: Int
    /// How often the agent checks health, age and liveness of servers.
    public var watchInterval: Duration
    /// After each deploy the image store keeps, besides the live servers' images, those of
    /// this many past deployments (``AgentState/imagesToKeep(lastDeployments:)``).
    public var keptDeployments: Int = AgentConfiguration.defaultKeptDeployments
    public static let defaultKeptDeployments = 3
    /// The machine's layer cache for whole-server images; nil is ``LayerStore/machineDefault()``
    /// (`$PYRE_LAYER_CACHE`, else /var/cache/pyre/layers for root).
    public var layerCache: URL?
    /// Where `provider: aws` finds credentials, region and endpoints (`AWS_*`), as the AWS CLI does.
    public var environment: [String: String] = ProcessInfo.processInfo.environment

    public init(systemDirectory: URL, stateDirectory: URL? = nil, isolation: IsolationMode = .automatic(), subnet: String? = nil,
                controlHost: String = "127.0.0.1", controlPort: Int = 0, watchInterval: Duration = .seconds(1)) {
        self.systemDirectory = systemDirectory.standardizedFileURL
        self.stateDirectory = (stateDirectory ?? systemDirectory.appendingPathComponent(".pyre")).standardizedFileURL
        self.isolation = isolation
        self.subnet = subnet
        self.controlHost = controlHost
        self.controlPort = controlPort
        self.watchInterval = watchInterval
    }
}
