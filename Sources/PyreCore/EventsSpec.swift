/// `events:` in pyre.yml: where the system's event store keeps its data and where the
/// agent serves its HTTP API (`events.ZONE`).
public struct EventsSpec: Sendable, Equatable {
    public enum Backend: Sendable, Equatable {
        /// The embedded default, in the state directory's persistent half.
        case sqlite
        /// A PostgreSQL server, for systems that outgrow one machine.
        case postgres(url: String)
    }

    public var backend: Backend
    /// Port of the HTTP API on the system address.
    public var port: Int

    public static let defaultPort = 2113

    public init(backend: Backend = .sqlite, port: Int = defaultPort) {
        self.backend = backend
        self.port = port
    }
}

/// `replay:` of a service: its new servers rebuild state from a stream before they take
/// traffic. The gate passes only once the server's health answer reports (in the
/// `Pyre-Position` header) that it applied the stream up to the version that was current
/// when the server was first probed.
public struct ReplaySpec: Sendable, Equatable, Codable {
    /// A stream name, or `$all` for every stream (positions instead of versions).
    public var stream: String

    public init(stream: String) { self.stream = stream }
}
