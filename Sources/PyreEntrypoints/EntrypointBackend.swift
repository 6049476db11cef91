/// How an entry point chooses the server for a new connection.
public enum BalanceStrategy: String, Sendable {
    /// The server with the fewest open connections; ties go round robin.
    case leastConnections = "least_connections"
    /// Each server in turn.
    case roundRobin = "round_robin"
}

/// A published server an entry point may forward new connections to.
public struct EntrypointBackend: Hashable, Sendable {
    /// The server id.
    public var id: String
    public var host: String
    public var port: Int

    public init(id: String, host: String, port: Int) {
        self.id = id
        self.host = host
        self.port = port
    }
}
