import NIOCore
import NIOPosix
import PyreCore
import PyreDeploy
import Testing

/// Answers every request with a fixed HTTP status, or (status nil) never answers.
private final class FixedResponseHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let status: Int?
    private var received = ""

    init(status: Int?) { self.status = status }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += String(buffer: unwrapInboundIn(data))
        guard let status, received.contains("\r\n\r\n") else { return }
        let response = "HTTP/1.1 \(status) X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: response)), promise: nil)
        context.close(promise: nil)
    }
}

/// A loopback server on an ephemeral port.
private func withServer(status: Int?, _ body: (Int) async throws -> Void) async throws {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(FixedResponseHandler(status: status))
            }
        }
        .bind(host: "127.0.0.1", port: 0).get()
    do {
        try await body(channel.localAddress!.port!)
    } catch {
        try await channel.close()
        throw error
    }
    try await channel.close()
}

/// A loopback port nothing listens on (bound, then closed).
private func closedPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress!.port!
    try await channel.close()
    return port
}

@Suite struct NetworkHealthCheckerTests {
    let checker = NetworkHealthChecker()

    func spec(_ probe: HealthCheckSpec.Probe) -> HealthCheckSpec {
        HealthCheckSpec(probe: probe, timeout: .milliseconds(500))
    }

    @Test func httpPassesOn2xx() async throws {
        try await withServer(status: 204) { port in
            #expect(await checker.check(address: "127.0.0.1", port: port, spec: spec(.http(path: "/healthz"))) == .pass)
        }
    }

    @Test func httpFailsOnOtherStatus() async throws {
        try await withServer(status: 503) { port in
            let result = await checker.check(address: "127.0.0.1", port: port, spec: spec(.http(path: "/healthz")))
            #expect(result == .fail(reason: "GET /healthz answered 503"))
        }
    }

    @Test func httpFailsWhenNoAnswerWithinTimeout() async throws {
        try await withServer(status: nil) { port in
            let result = await checker.check(address: "127.0.0.1", port: port, spec: spec(.http(path: "/healthz")))
            #expect(!result.passed)
        }
    }

    @Test func httpFailsWhenNothingListens() async throws {
        let result = await checker.check(address: "127.0.0.1", port: try await closedPort(), spec: spec(.http(path: "/")))
        #expect(!result.passed)
    }

    @Test func tcpPassesWhenSomethingListens() async throws {
        try await withServer(status: nil) { port in
            #expect(await checker.check(address: "127.0.0.1", port: port, spec: spec(.tcp)) == .pass)
        }
    }

    @Test func tcpFailsWhenNothingListens() async throws {
        let result = await checker.check(address: "127.0.0.1", port: try await closedPort(), spec: spec(.tcp))
        guard case let .fail(reason) = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(reason.hasPrefix("TCP connect to port"))
    }
}
