import Synchronization

/// What one entry point relayed since it was opened, for the agent's metrics. Connections add
/// their bytes once, when they end (or are handed to another backend), so counting costs the
/// relay loop nothing per read.
final class EntrypointCounters: Sendable {
    private let connections = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)
    private let backendErrors = Atomic<Int>(0)
    private let bytesFromClients = Atomic<Int>(0)
    private let bytesFromBackends = Atomic<Int>(0)

    func connectionAccepted() { connections.add(1, ordering: .relaxed) }
    func connectionRefused() { refused.add(1, ordering: .relaxed) }
    func backendFailed() { backendErrors.add(1, ordering: .relaxed) }

    func relayed(fromClient: Int, fromBackend: Int) {
        if fromClient > 0 { bytesFromClients.add(fromClient, ordering: .relaxed) }
        if fromBackend > 0 { bytesFromBackends.add(fromBackend, ordering: .relaxed) }
    }

    var statistics: EntrypointStatistics {
        EntrypointStatistics(connections: connections.load(ordering: .relaxed), refused: refused.load(ordering: .relaxed),
                             backendErrors: backendErrors.load(ordering: .relaxed),
                             bytesFromClients: bytesFromClients.load(ordering: .relaxed),
                             bytesFromBackends: bytesFromBackends.load(ordering: .relaxed))
    }
}

/// Totals of one entry point since it was opened.
public struct EntrypointStatistics: Equatable, Sendable {
    /// Client connections accepted, refused ones included.
    public var connections: Int
    /// Connections reset because no published backend took them.
    public var refused: Int
    /// Connects that failed or timed out, and backends that reset or failed a connection.
    public var backendErrors: Int
    /// Bytes read from clients (sent on to backends) and from backends (sent on to clients) by
    /// connections that have ended.
    public var bytesFromClients: Int
    public var bytesFromBackends: Int
}
