import Foundation

/// Everything a provider needs to create one server. Servers are never changed after
/// creation, so this is the whole of a server's configuration.
public struct ServerSpec: Sendable, Equatable, Codable {
    public var id: ServerID
    public var system: String
    public var service: String
    public var generation: Generation
    public var image: ImageDigest
    /// Where the image is for the provider that runs the server.
    public var imageLocation: ImageLocation
    /// argv, run with the image as working directory.
    public var command: [String]
    /// The manifest's variables and where the agent's services are; the provider adds the
    /// server's identity (``ServerEnvironment/variables(for:address:)``).
    public var env: [String: String]
    public var port: Int
    /// Hash of the configuration that, when changed, requires a new server.
    public var configHash: String
    public var zone: String
    /// The image's `user:`; nil is the provider's unprivileged default. Absent from records
    /// written before it existed.
    public var user: String?

    public init(id: ServerID, system: String, service: String, generation: Generation, image: ImageDigest,
                imageLocation: ImageLocation, command: [String], env: [String: String], port: Int, configHash: String,
                zone: String, user: String? = nil) {
        self.id = id
        self.system = system
        self.service = service
        self.generation = generation
        self.image = image
        self.imageLocation = imageLocation
        self.command = command
        self.env = env
        self.port = port
        self.configHash = configHash
        self.zone = zone
        self.user = user
    }
}

/// What a provider reports about a server.
public struct ServerInfo: Sendable, Equatable, Codable {
    public enum State: Sendable, Equatable, Codable {
        case running
        /// The server's main process has ended; it must be replaced, never restarted.
        case exited(status: Int32)
    }

    public var id: ServerID
    public var service: String
    public var generation: Generation
    public var image: ImageDigest
    public var configHash: String
    /// Address the server listens on and the host reaches it at.
    public var address: String
    public var port: Int
    public var createdAt: Date
    public var state: State
    /// The directory the server sees as its image (for drift checks).
    public var imageView: URL?
    /// What ``configHash`` covers, part by part (see ``ServiceSpec/configParts(recipe:zone:)``),
    /// as the agent journaled it: a plan names the parts that changed. Nil from providers, and
    /// for servers journaled before it was recorded.
    public var config: [String: String]?

    public init(id: ServerID, service: String, generation: Generation, image: ImageDigest, configHash: String,
                address: String, port: Int, createdAt: Date, state: State, imageView: URL? = nil) {
        self.id = id
        self.service = service
        self.generation = generation
        self.image = image
        self.configHash = configHash
        self.address = address
        self.port = port
        self.createdAt = createdAt
        self.state = state
        self.imageView = imageView
    }
}

/// Creates, inspects, lists and destroys servers. There is deliberately no verb that changes
/// a running server.
public protocol ServerProvider: Sendable {
    /// Starts a new server; returns once its process runs (not once it is healthy).
    func create(_ spec: ServerSpec) async throws -> ServerInfo
    /// The server's current state, or nil when the provider has no such server.
    func inspect(_ id: ServerID) async throws -> ServerInfo?
    /// Every server this provider runs for the system, including ones created before an agent restart.
    func list() async throws -> [ServerInfo]
    /// Stops every process of the server and removes everything it had. Destroying an unknown
    /// or already destroyed server succeeds.
    func destroy(_ id: ServerID) async throws
    /// The last `lines` lines the server wrote to stdout and stderr, for error reports.
    func recentOutput(of id: ServerID, lines: Int) async -> [String]

    /// True when ``create(batch:)`` costs fewer calls than one ``create(_:)`` per server (a
    /// cloud API): the engine then hands the provider a step's new servers of a service at once.
    var createsInBatches: Bool { get }
    /// Creates servers whose specs differ only in id; one result per spec, in order. A
    /// provider that names its servers itself (EC2 uses the instance id) returns infos whose
    /// ids differ from the specs'.
    func create(batch specs: [ServerSpec]) async -> [Result<ServerInfo, any Error>]
    /// Destroys the servers; returns the ones that could not be destroyed, with the reason.
    func destroy(batch ids: [ServerID]) async -> [ServerID: String]
}

extension ServerProvider {
    public func recentOutput(of id: ServerID, lines: Int) async -> [String] { [] }

    public var createsInBatches: Bool { false }

    /// One ``create(_:)`` per spec, all at once.
    public func create(batch specs: [ServerSpec]) async -> [Result<ServerInfo, any Error>] {
        await withTaskGroup(of: (Int, Result<ServerInfo, any Error>).self) { group in
            for (index, spec) in specs.enumerated() {
                // Not `(index, .success(try await …))`: see Result.init(awaiting:) for the miscompile.
                group.addTask {
                    let result = await Result(awaiting: { try await create(spec) })
                    return (index, result)
                }
            }
            var results = [Result<ServerInfo, any Error>?](repeating: nil, count: specs.count)
            for await (index, result) in group { results[index] = result }
            return results.map { $0! }
        }
    }

    /// One ``destroy(_:)`` per server, all at once.
    public func destroy(batch ids: [ServerID]) async -> [ServerID: String] {
        await withTaskGroup(of: (ServerID, String?).self) { group in
            for id in ids {
                group.addTask {
                    do { try await destroy(id); return (id, nil) } catch { return (id, "\(error)") }
                }
            }
            var failures: [ServerID: String] = [:]
            for await (id, failure) in group { if let failure { failures[id] = failure } }
            return failures
        }
    }
}
