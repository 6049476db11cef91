/// `services:` — what runs, how many, and how it is rolled out and checked.
enum ServiceSection {
    static let keys = ["image", "count", "port", "env", "health", "strategy", "max_age", "drain"]
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
            return ServiceSpec(
                name: name,
                image: try readImage(service.required("image"), service: name, images: images),
                count: try service.optional("count")?.integer(in: 0...Int.max, name: "count") ?? 1,
                port: try service.optional("port")?.integer(in: 1...65535, name: "port") ?? 8080,
                env: try service.optional("env").map(Environment.read) ?? [:],
                health: try service.optional("health").map(HealthSection.read) ?? HealthCheckSpec(),
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

    private static func readImage(_ value: ManifestValue, service: String, images: [ImageRecipe]) throws -> String {
        let image = try value.string(expecting: "the name of an image under images:")
        let names = images.map(\.name)
        guard names.contains(image) else {
            var message = "service \"\(service)\" uses image \"\(image)\", which is not defined under images:; "
            message += names.isEmpty ? "define it there" : "defined images: \(names.joined(separator: ", "))"
            throw value.error(message)
        }
        return image
    }
}

/// `health:` — the check a new server must pass before it gets traffic.
enum HealthSection {
    static let keys = ["http", "tcp", "interval", "timeout", "successes", "failures", "deadline"]

    static func read(_ value: ManifestValue) throws -> HealthCheckSpec {
        let health = try value.mapping(expecting: "a health check such as { http: /healthz } or { tcp: true }",
                                       allowedKeys: keys)
        var spec = HealthCheckSpec()
        spec.probe = try readProbe(health)
        if let interval = health.optional("interval") { spec.interval = try interval.duration(name: "interval") }
        if let timeout = health.optional("timeout") { spec.timeout = try timeout.duration(name: "timeout") }
        if let successes = health.optional("successes") {
            spec.successes = try successes.integer(in: 1...Int.max, name: "successes")
        }
        if let failures = health.optional("failures") {
            spec.failures = try failures.integer(in: 1...Int.max, name: "failures")
        }
        if let deadline = health.optional("deadline") { spec.deadline = try deadline.duration(name: "deadline") }
        return spec
    }

    private static func readProbe(_ health: ManifestMapping) throws -> HealthCheckSpec.Probe {
        let http = health.optional("http"), tcp = health.optional("tcp")
        if http != nil, tcp != nil {
            throw health.value.error("set either http or tcp, not both")
        }
        if let tcp {
            guard try tcp.bool() else {
                throw tcp.error("tcp can only be true; to check over HTTP use http: /path instead")
            }
            return .tcp
        }
        guard let http else { return .tcp }
        let path = try http.string(expecting: "a path such as /healthz")
        guard path.hasPrefix("/") else {
            throw http.error("http path must start with \"/\", got \"\(path)\"; e.g. /\(path)")
        }
        guard !path.contains(where: \.isWhitespace) else {
            throw http.error("http path must not contain spaces, got \"\(path)\"; encode them as %20")
        }
        return .http(path: path)
    }
}

/// `strategy:` — how many servers a rollout may add and take away at a time.
enum StrategySection {
    static let keys = ["max_surge", "max_unavailable"]

    static func read(_ value: ManifestValue) throws -> RolloutStrategy {
        let strategy = try value.mapping(expecting: "a strategy such as { max_surge: 1, max_unavailable: 0 }",
                                         allowedKeys: keys)
        var spec = RolloutStrategy()
        let surge = strategy.optional("max_surge")
        if let surge { spec.maxSurge = try readQuantity(surge, name: "max_surge") }
        if let unavailable = strategy.optional("max_unavailable") {
            spec.maxUnavailable = try readQuantity(unavailable, name: "max_unavailable")
        }
        if isZero(spec.maxSurge), isZero(spec.maxUnavailable) {
            throw (surge ?? strategy.value).error("max_surge and max_unavailable are both 0, so a rollout could never "
                                                  + "make progress; set max_surge to 1 or more")
        }
        return spec
    }

    private static func isZero(_ quantity: RolloutQuantity) -> Bool {
        switch quantity {
        case .absolute(let n), .percent(let n): n == 0
        }
    }

    /// A non-negative integer or a percentage `N%` of the service's count.
    private static func readQuantity(_ value: ManifestValue, name: String) throws -> RolloutQuantity {
        let usage = "use a number of servers such as 1, or a percentage of count such as 25%"
        let text = try value.string(expecting: "a number or a percentage")
        if text.hasSuffix("%") {
            guard let percent = Int(text.dropLast()), (0...100).contains(percent) else {
                throw value.error("\(name) percentage must be between 0% and 100%, got \"\(text)\"")
            }
            return .percent(percent)
        }
        guard let count = value.node.int else {
            throw value.error("invalid \(name) \"\(text)\"; \(usage)")
        }
        guard count >= 0 else { throw value.error("\(name) must be 0 or more, got \(count)") }
        return .absolute(count)
    }
}
