import PyreCore

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
