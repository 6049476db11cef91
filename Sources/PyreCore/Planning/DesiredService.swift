import Foundation

/// What one declared service should run: the manifest's service plus its baked image.
public struct DesiredService: Sendable {
    public var spec: ServiceSpec
    public var image: ImageDigest
    /// Where the provider finds the image.
    public var imageLocation: ImageLocation
    /// argv a server runs (the image recipe's `run`).
    public var command: [String]
    /// The manifest's variables and where the agent's services are (``ServerEnvironment``).
    public var env: [String: String]
    /// See ``ServiceSpec/configHash(recipe:environment:zone:)``: a change requires new servers.
    public var configHash: String
    /// The image recipe's `user:`.
    public var user: String?
    /// See ``ServiceSpec/configParts(recipe:environment:zone:)``: what a plan compares to name a change.
    public var configParts: [String: String]

    public init(spec: ServiceSpec, image: ImageDigest, imageLocation: ImageLocation, command: [String],
                env: [String: String], configHash: String, user: String? = nil,
                configParts: [String: String] = [:]) {
        self.spec = spec
        self.image = image
        self.imageLocation = imageLocation
        self.command = command
        self.env = env
        self.configHash = configHash
        self.user = user
        self.configParts = configParts
    }

    /// Builds the desired state of `service` from its manifest, its recipe and the baked
    /// image; `agentServices` tells its servers where the agent's services are.
    public init(spec: ServiceSpec, recipe: ImageRecipe, image: ImageDigest, imageLocation: ImageLocation, zone: String,
                agentServices: [String: String] = [:]) {
        let env = ServerEnvironment.declared(recipe: recipe, service: spec).merging(agentServices) { _, agent in agent }
        self.init(spec: spec, image: image, imageLocation: imageLocation, command: recipe.run, env: env,
                  configHash: spec.configHash(recipe: recipe, environment: env, zone: zone), user: recipe.user,
                  configParts: spec.configParts(recipe: recipe, environment: env, zone: zone))
    }
}

/// A server as the provider reports it, with what the agent knows of its health.
public struct ObservedServer: Sendable {
    public var info: ServerInfo
    /// Result of the last health check; nil when not checked yet.
    public var healthy: Bool?
    /// Failed its health check `failures` times in a row: it must be replaced.
    public var failing: Bool

    public init(info: ServerInfo, healthy: Bool? = nil, failing: Bool = false) {
        self.info = info
        self.healthy = healthy
        self.failing = failing
    }
}
