import Foundation
import PyreCore

/// A health checker for servers of an ``InMemoryProvider``, told per server or per image
/// whether probes pass.
public final class FakeHealthChecker: HealthChecker, @unchecked Sendable {
    public enum Behaviour: Sendable, Equatable {
        case healthy
        case failing(reason: String)
        /// Fails the first `checks` probes of each server, passes afterwards.
        case healthyAfter(checks: Int)
    }

    private let provider: InMemoryProvider
    private let lock = NSLock()
    private var byServer: [ServerID: Behaviour] = [:]
    private var byImage: [ImageDigest: Behaviour] = [:]
    private var fallback: Behaviour
    private var checkCounts: [ServerID: Int] = [:]
    /// Servers by address; InMemoryProvider never reuses an address.
    private var serversByAddress: [String: ServerInfo] = [:]

    public init(provider: InMemoryProvider, default fallback: Behaviour = .healthy) {
        self.provider = provider
        self.fallback = fallback
    }

    public func set(_ behaviour: Behaviour, for id: ServerID) {
        lock.withLock { byServer[id] = behaviour }
    }

    public func set(_ behaviour: Behaviour, forImage image: ImageDigest) {
        lock.withLock { byImage[image] = behaviour }
    }

    /// Probes answered so far for `id`.
    public func checks(of id: ServerID) -> Int { lock.withLock { checkCounts[id] ?? 0 } }

    public func check(address: String, port: Int, spec: HealthCheckSpec) async -> HealthResult {
        var server = lock.withLock { serversByAddress[address] }
        if server == nil {
            let servers = (try? await provider.list()) ?? []
            server = lock.withLock {
                for info in servers { serversByAddress[info.address] = info }
                return serversByAddress[address]
            }
        }
        guard let server else { return .fail(reason: "connection refused") }
        return lock.withLock {
            let count = (checkCounts[server.id] ?? 0) + 1
            checkCounts[server.id] = count
            switch byServer[server.id] ?? byImage[server.image] ?? fallback {
            case .healthy: return .pass
            case let .failing(reason): return .fail(reason: reason)
            case let .healthyAfter(checks): return count > checks ? .pass : .fail(reason: "not ready yet")
            }
        }
    }
}
