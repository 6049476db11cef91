/// A stable, platform-independent hash (FNV-1a, 64 bit) of the configuration that a server
/// is created with. Not for security: it only tells whether a server needs replacing.
public func configHash(_ parts: [String]) -> String {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for part in parts {
        for byte in part.utf8 + [0] {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
    }
    let hex = String(hash, radix: 16)
    return String(repeating: "0", count: 16 - hex.count) + hex
}

extension ServiceSpec {
    /// Hash of everything, besides the image, that a server of this service is created with:
    /// its command, its `environment` (the manifest's variables and where the agent's
    /// services are, ``ServerEnvironment``), port, zone and user. A server created with any
    /// other is stale, and a deploy replaces it: so a server is never left talking to an
    /// address the agent no longer serves, nor holding a token it no longer accepts.
    public func configHash(recipe: ImageRecipe, environment env: [String: String], zone: String) -> String {
        let envLines = env.keys.sorted().map { "\($0)=\(env[$0]!)" }
        // `user` only when set, so the servers of manifests without it keep their hash.
        let user = recipe.user.map { ["user", $0] } ?? []
        return PyreCore.configHash(["run"] + recipe.run + ["env"] + envLines + ["port", String(port), "zone", zone] + user)
    }

    /// The parts ``configHash(recipe:environment:zone:)`` covers, by name (`run`, `port`,
    /// `zone`, `env.KEY`, `user` when set). An env value is given as a digest: plans and
    /// journals show that it changed, never what it is.
    public func configParts(recipe: ImageRecipe, environment env: [String: String], zone: String) -> [String: String] {
        var parts = ["run": recipe.run.joined(separator: " "), "port": String(port), "zone": zone]
        for (key, value) in env { parts["env.\(key)"] = PyreCore.configHash([value]) }
        if let user = recipe.user { parts["user"] = user }
        return parts
    }
}
