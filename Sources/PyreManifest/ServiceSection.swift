import PyreCore

/// `services:` — what runs, how many, and how it is rolled out and checked.
enum ServiceSection {
    /// Far above any machine's capacity, and low enough that rollout arithmetic cannot overflow.
    static let maximumCount = 100_000
    static let keys = ["image", "count", "port", "env", "health", "strategy", "max_age", "drain", "replay"]
    /// Names Pyre's own services use in the system's DNS zone.
    static let reservedNames = ["events", "logs", "dns"]
    /// Server ids are `SERVICE-GEN-XXXX` and must stay DNS labels (63 characters) for any
    /// generation up to nine digits.
    static let maximumNameLength = 48

    static func read(_ value: ManifestValue, images: [ImageRecipe]) throws -> [ServiceSpec] {
        let services = try value.mapping(expecting: "a mapping of service names to services, e.g. web: { image: web }")
        return try services.entries.map { entry in
            let name = try readName(entry.key)
            let service = try entry.value.mapping(expecting: "a service with image:", allowedKeys: keys)
            var health = try service.optional("health").map(HealthSection.read) ?? HealthCheckSpec()
            health.replay = try service.optional("replay").map { try ReplaySection.read($0, health: health) }
            return ServiceSpec(
                name: name,
                image: try service.required("image").reference(
                    "service \"\(name)\" uses image", kind: "an image", section: "images", defined: images.map(\.name)),
                count: try service.optional("count")?.integer(in: 0...maximumCount, name: "count") ?? 1,
                port: try service.optional("port")?.integer(in: 1...65535, name: "port") ?? 8080,
                env: try service.optional("env").map(EnvironmentSection.read) ?? [:],
                health: health,
                strategy: try service.optional("strategy").map(StrategySection.read) ?? RolloutStrategy(),
                maxAge: try service.optional("max_age")?.duration(name: "max_age"),
                drain: try service.optional("drain")?.duration(name: "drain", allowZero: true) ?? .seconds(1))
        }
    }

    private static func readName(_ key: ManifestValue) throws -> String {
        let name = try SectionName.read(key, kind: "service")
        guard !reservedNames.contains(name) else {
            throw key.error("\"\(name)\" is reserved for Pyre's own services (\(reservedNames.joined(separator: ", "))); "
                            + "choose another service name")
        }
        guard name.count <= maximumNameLength else {
            throw key.error("service name \"\(name)\" is \(name.count) characters; use at most \(maximumNameLength), "
                            + "so that server names like \(name.prefix(3))-12-8f2c stay valid DNS labels")
        }
        return name
    }
}
