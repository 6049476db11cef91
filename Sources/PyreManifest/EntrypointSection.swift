import PyreCore

/// `entrypoints:` — stable listeners that forward to a service.
enum EntrypointSection {
    static let keys = ["listen", "service", "balance", "connect_timeout", "retry_unanswered"]

    static func read(_ value: ManifestValue, services: [ServiceSpec]) throws -> [EntrypointSpec] {
        let entrypoints = try value.mapping(
            expecting: "a mapping of entrypoint names to entrypoints, e.g. public: { listen: \"127.0.0.1:8080\", service: web }")
        var owners: [String: String] = [:]
        return try entrypoints.entries.map { entry in
            let name = try SectionName.read(entry.key, kind: "entrypoint")
            let entrypoint = try entry.value.mapping(expecting: "an entrypoint with listen: and service:", allowedKeys: keys)
            let listenValue = try entrypoint.required("listen")
            let listen = try ListenAddress.read(listenValue)
            if let owner = owners[listen] {
                throw listenValue.error("\(listen) is already used by entrypoint \"\(owner)\"; give each entrypoint its own address")
            }
            owners[listen] = name
            let service = try entrypoint.required("service").reference(
                "entrypoint \"\(name)\" forwards to service", kind: "a service", section: "services",
                defined: services.map(\.name))
            var spec = EntrypointSpec(name: name, listen: listen, service: service)
            if let balance = entrypoint.optional("balance") { spec.balance = try readBalance(balance) }
            if let timeout = entrypoint.optional("connect_timeout") {
                spec.connectTimeout = try timeout.duration(name: "connect_timeout")
            }
            if let retry = entrypoint.optional("retry_unanswered") { spec.retryUnanswered = try retry.bool() }
            return spec
        }
    }

    private static func readBalance(_ value: ManifestValue) throws -> EntrypointBalance {
        let text = try value.string(expecting: "least_connections or round_robin")
        guard let balance = EntrypointBalance(rawValue: text) else {
            let names = EntrypointBalance.allCases.map(\.rawValue)
            throw value.error("unknown balance \"\(text)\"; \(didYouMean(text, among: names) ?? "use least_connections or round_robin")")
        }
        return balance
    }
}
