import PyreCore

/// `events:` — the event store's backend and the port of its HTTP API.
enum EventsSection {
    static let keys = ["store", "port"]

    static func read(_ value: ManifestValue) throws -> EventsSpec {
        let events = try value.mapping(expecting: "a mapping such as { store: sqlite, port: 2113 }", allowedKeys: keys)
        var spec = EventsSpec()
        if let store = events.optional("store") { spec.backend = try readBackend(store) }
        if let port = events.optional("port") { spec.port = try port.integer(in: 1...65535, name: "port") }
        return spec
    }

    private static func readBackend(_ value: ManifestValue) throws -> EventsSpec.Backend {
        let text = try value.string(expecting: "sqlite or a postgres:// URL")
        if text == "sqlite" { return .sqlite }
        if text.hasPrefix("postgres://") || text.hasPrefix("postgresql://") { return .postgres(url: text) }
        throw value.error("store must be sqlite or a URL such as postgres://pyre@db.example:5432/pyre")
    }
}

/// `replay:` of a service — `{ stream: guestbook, ready_when: caught_up }`.
enum ReplaySection {
    static let keys = ["stream", "ready_when"]

    static func read(_ value: ManifestValue, health: HealthCheckSpec) throws -> ReplaySpec {
        let replay = try value.mapping(expecting: "a mapping such as { stream: guestbook, ready_when: caught_up }",
                                       allowedKeys: keys)
        let streamValue = try replay.required("stream")
        let stream = try streamValue.string(expecting: "a stream name such as guestbook, or $all")
        guard !stream.isEmpty, !stream.contains(where: \.isWhitespace) else {
            throw streamValue.error("stream must be a name without spaces, such as guestbook")
        }
        if let readyWhen = replay.optional("ready_when") {
            guard try readyWhen.string(expecting: "caught_up") == "caught_up" else {
                throw readyWhen.error("ready_when can only be caught_up")
            }
        }
        guard case .http = health.probe else {
            throw value.error("replay needs an http health check (health: { http: /healthz }) whose answer "
                + "carries the Pyre-Position header")
        }
        return ReplaySpec(stream: stream)
    }
}
