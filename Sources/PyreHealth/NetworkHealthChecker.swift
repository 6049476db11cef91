import AsyncHTTPClient
import NIOCore
import NIOPosix
import PyreCore

/// Probes servers over the network: `http` GETs the path and passes on any 2xx within the
/// timeout (and, when the spec requires a position, a `Pyre-Position` header at least that
/// high); `tcp` passes when a connection opens within the timeout.
public struct NetworkHealthChecker: HealthChecker {
    private let httpClient: HTTPClient
    private let eventLoopGroup: any EventLoopGroup

    /// - Parameter httpClient: the client for HTTP probes, owned (and shut down) by the caller.
    public init(httpClient: HTTPClient = .shared,
                eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.httpClient = httpClient
        self.eventLoopGroup = eventLoopGroup
    }

    public func check(address: String, port: Int, spec: HealthCheckSpec) async -> HealthResult {
        switch spec.probe {
        case let .http(path): await checkHTTP(address: address, port: port, path: path, timeout: spec.timeout,
                                              requiredPosition: spec.requiredPosition)
        case .tcp: await checkTCP(address: address, port: port, timeout: spec.timeout)
        }
    }

    /// The header a replaying server reports its progress in: the last stream version (or
    /// `$all` position) it applied, -1 before the first.
    public static let positionHeader = "Pyre-Position"

    private func checkHTTP(address: String, port: Int, path: String, timeout: Duration,
                           requiredPosition: Int64?) async -> HealthResult {
        let host = address.contains(":") ? "[\(address)]" : address
        let url = "http://\(host):\(port)\(path.hasPrefix("/") ? path : "/" + path)"
        do {
            let response = try await httpClient.execute(HTTPClientRequest(url: url), timeout: TimeAmount(timeout))
            let status = response.status.code
            // Read the (small) body so the connection can be reused.
            _ = try await response.body.collect(upTo: 1 << 20)
            guard (200 ..< 300).contains(status) else { return .fail(reason: "GET \(path) answered \(status)") }
            guard let requiredPosition else { return .pass }
            guard let reported = response.headers.first(name: Self.positionHeader).flatMap({ Int64($0) }) else {
                return .fail(reason: "GET \(path) has no \(Self.positionHeader) header; a replaying server must "
                    + "report the last position it applied")
            }
            return reported >= requiredPosition ? .pass
                : .fail(reason: "replayed up to \(reported), not yet \(requiredPosition)")
        } catch {
            return .fail(reason: "GET \(path) failed: \(error)")
        }
    }

    private func checkTCP(address: String, port: Int, timeout: Duration) async -> HealthResult {
        do {
            let bootstrap = ClientBootstrap(group: eventLoopGroup).connectTimeout(TimeAmount(timeout))
            let channel = try await bootstrap.connect(host: address, port: port).get()
            try? await channel.close()
            return .pass
        } catch {
            return .fail(reason: "TCP connect to port \(port) failed: \(error)")
        }
    }
}
