import Foundation

// Abstractions the deploy engine (PyreDeploy) drives, declared here so that the targets
// implementing them (event store, DNS, entrypoints) and test fakes need only PyreCore.

/// Outcome of one health probe.
public enum HealthResult: Sendable, Equatable {
    case pass
    case fail(reason: String)

    public var passed: Bool { self == .pass }
}

/// Probes whether a server serves.
public protocol HealthChecker: Sendable {
    /// One probe of the server at `address:port`, as `spec` says (HTTP path or TCP connect,
    /// within `spec.timeout`). Never throws: every problem is a failed probe with its reason.
    func check(address: String, port: Int, spec: HealthCheckSpec) async -> HealthResult

    /// One probe of a new server's gate, before it is published. The same probe unless a
    /// checker adds conditions for new servers (the agent's replay gate does).
    func checkGate(of server: ServerInfo, spec: HealthCheckSpec) async -> HealthResult
}

extension HealthChecker {
    public func checkGate(of server: ServerInfo, spec: HealthCheckSpec) async -> HealthResult {
        await check(address: server.address, port: server.port, spec: spec)
    }
}

/// The agent's own stream of events.
public protocol EventJournal: Sendable {
    /// Appends `events` in order. Returns only once they are durable (fsync'd): the engine
    /// takes the step as done afterwards.
    func record(_ events: [AgentEvent]) async throws
}

/// Makes healthy servers reachable by name (DNS records, entrypoint pools) and takes them away.
public protocol ServerPublisher: Sendable {
    /// Publishes `servers` and takes `leaving` away as one change: clients see the names as
    /// they were before or as they are after, never a mix. Returns once the change is visible.
    func update(publishing servers: [ServerInfo], unpublishing leaving: [ServerID]) async
    /// Returns when the unpublished servers `ids` may be destroyed: their drain `period` is
    /// the most their clients may still take to finish.
    func drain(_ ids: [ServerID], within period: Duration) async
}

extension ServerPublisher {
    public func publish(_ server: ServerInfo) async { await update(publishing: [server], unpublishing: []) }
    public func unpublish(_ ids: [ServerID]) async { await update(publishing: [], unpublishing: ids) }

    /// Without connections to watch, the whole period.
    public func drain(_ ids: [ServerID], within period: Duration) async {
        if period > .zero { try? await Task.sleep(for: period) }
    }
}

/// A publisher that publishes nowhere, for systems without DNS or entrypoints.
public struct NoopPublisher: ServerPublisher {
    public init() {}
    public func update(publishing servers: [ServerInfo], unpublishing leaving: [ServerID]) async {}
}

/// Log records of one service's servers over a watch, as the central log store has them.
public struct ErrorCensus: Sendable, Equatable {
    /// Records of the servers watched, and how many of them were at severity error or worse.
    public var records: Int
    public var errors: Int
    /// The same for the service's other servers (the old fleet beside canaries).
    public var otherRecords: Int
    public var otherErrors: Int

    public init(records: Int, errors: Int, otherRecords: Int, otherErrors: Int) {
        self.records = records
        self.errors = errors
        self.otherRecords = otherRecords
        self.otherErrors = otherErrors
    }

    public var share: Double { records == 0 ? 0 : Double(errors) / Double(records) }
    /// Nil when the other servers logged nothing.
    public var otherShare: Double? { otherRecords == 0 ? nil : Double(otherErrors) / Double(otherRecords) }
}

/// Counts log records for a release's error gate.
public protocol LogCensus: Sendable {
    /// Records `servers` of `service` logged since `since`, against what its other servers logged.
    func census(service: String, servers: Set<ServerID>, since: Date) async -> ErrorCensus
}
