/// `entrypoints:` — stable listeners that forward to a service.
enum EntrypointSection {
    static let keys = ["listen", "service"]

    static func read(_ value: ManifestValue, services: [ServiceSpec]) throws -> [EntrypointSpec] {
        let entrypoints = try value.mapping(
            expecting: "a mapping of entrypoint names to entrypoints, e.g. public: { listen: \"127.0.0.1:8080\", service: web }")
        var owners: [String: String] = [:]
        return try entrypoints.entries.map { entry in
            let name = try SectionName.read(entry.key, kind: "entrypoint")
            let entrypoint = try entry.value.mapping(expecting: "an entrypoint with listen: and service:", allowedKeys: keys)
            let listenValue = try entrypoint.required("listen")
            let listen = try readListen(listenValue)
            if let owner = owners[listen] {
                throw listenValue.error("\(listen) is already used by entrypoint \"\(owner)\"; give each entrypoint its own address")
            }
            owners[listen] = name
            let service = try entrypoint.required("service").reference(
                "entrypoint \"\(name)\" forwards to service", kind: "a service", section: "services",
                defined: services.map(\.name))
            return EntrypointSpec(name: name, listen: listen, service: service)
        }
    }

    /// `HOST:PORT`, with IPv6 hosts in brackets (`[::1]:8080`).
    private static func readListen(_ value: ManifestValue) throws -> String {
        let text = try value.string(expecting: "an address such as \"127.0.0.1:8080\"")
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex else {
            throw value.error("listen must be HOST:PORT, e.g. \"127.0.0.1:8080\", got \"\(text)\"")
        }
        let host = text[..<colon], portText = text[text.index(after: colon)...]
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw value.error("port in listen must be between 1 and 65535, got \"\(portText)\"")
        }
        guard !host.contains(":") || (host.hasPrefix("[") && host.hasSuffix("]")) else {
            throw value.error("put an IPv6 address in brackets, e.g. \"[::1]:\(port)\", got \"\(text)\"")
        }
        return text
    }
}
