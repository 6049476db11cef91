import AsyncHTTPClient
import NIOCore
import NIOPosix
import PyreCore

/// Probes servers over the network: `http` GETs the path and passes on any 2xx within the
/// timeout; `tcp` passes when a connection opens within the timeout.
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
        case let .http(path): await checkHTTP(address: address, port: port, path: path, timeout: spec.timeout)
        case .tcp: await checkTCP(address: address, port: port, timeout: spec.timeout)
        }
    }

    private func checkHTTP(address: String, port: Int, path: String, timeout: Duration) async -> HealthResult {
        let host = address.contains(":") ? "[\(address)]" : address
        let url = "http://\(host):\(port)\(path.hasPrefix("/") ? path : "/" + path)"
        do {
            let response = try await httpClient.execute(HTTPClientRequest(url: url), timeout: timeAmount(timeout))
            let status = response.status.code
            // Read the (small) body so the connection can be reused.
            _ = try await response.body.collect(upTo: 1 << 20)
            return (200 ..< 300).contains(status) ? .pass : .fail(reason: "GET \(path) answered \(status)")
        } catch {
            return .fail(reason: "GET \(path) failed: \(error)")
        }
    }

    private func checkTCP(address: String, port: Int, timeout: Duration) async -> HealthResult {
        do {
            let bootstrap = ClientBootstrap(group: eventLoopGroup).connectTimeout(timeAmount(timeout))
            let channel = try await bootstrap.connect(host: address, port: port).get()
            try? await channel.close()
            return .pass
        } catch {
            return .fail(reason: "TCP connect to port \(port) failed: \(error)")
        }
    }
}
