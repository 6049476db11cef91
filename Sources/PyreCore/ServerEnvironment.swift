/// What a server is told through its environment, built here and nowhere else, in layers
/// where a later one wins:
///
/// 1. the manifest's variables: the image's `env`, then the service's;
/// 2. where the agent's services are (`PYRE_DNS`, `PYRE_EVENTS_URL`, `PYRE_EVENTS_TOKEN`,
///    `PYRE_LOGS`, `PYRE_LOGS_RELP`), as the system's backend says servers reach them;
/// 3. the server's identity (`PYRE_SYSTEM`, `PYRE_SERVICE`, `PYRE_SERVER`, `PYRE_GENERATION`,
///    `PYRE_ZONE`, `PYRE_IMAGE`, `PORT`, `PYRE_ADDRESS`), set by the provider that runs it.
///
/// Layers 1 and 2 are a service's `DesiredService.env` and so its servers' `ServerSpec.env`,
/// which the config hash covers; layer 3 differs per server by design.
public enum ServerEnvironment {
    /// Layer 1: the image's variables under the service's.
    public static func declared(recipe: ImageRecipe, service: ServiceSpec) -> [String: String] {
        recipe.env.merging(service.env) { _, service in service }
    }

    /// Layers 1 to 3 for one server. `address` is what it listens on; nil when the server
    /// learns its own id and address as it boots (an EC2 instance, from the metadata
    /// service), which leaves `PYRE_SERVER` and `PYRE_ADDRESS` out.
    public static func variables(for spec: ServerSpec, address: String?) -> [String: String] {
        var env = spec.env
        env["PYRE_SYSTEM"] = spec.system
        env["PYRE_SERVICE"] = spec.service
        env["PYRE_GENERATION"] = String(spec.generation)
        env["PYRE_ZONE"] = spec.zone
        env["PYRE_IMAGE"] = spec.image.rawValue
        env["PORT"] = String(spec.port)
        if let address {
            env["PYRE_SERVER"] = spec.id.rawValue
            env["PYRE_ADDRESS"] = address
        }
        return env
    }
}
