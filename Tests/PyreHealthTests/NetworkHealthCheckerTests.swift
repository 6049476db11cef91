import Foundation
import Glibc
import NIOCore
import NIOPosix
import PyreCore
import PyreHealth
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
/// Runs `body` with a loopback port that refuses connections: bound but not listening, so no
/// test running in parallel can take it meanwhile.
private func withClosedPort<T>(_ body: (Int) async throws -> T) async throws -> T {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = in_addr_t(0x7f00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
        }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return try await body(Int(UInt16(bigEndian: address.sin_port)))
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
        let result = try await withClosedPort { port in
            await checker.check(address: "127.0.0.1", port: port, spec: spec(.http(path: "/")))
        }
        #expect(!result.passed)
    }

    @Test func tcpPassesWhenSomethingListens() async throws {
        try await withServer(status: nil) { port in
            #expect(await checker.check(address: "127.0.0.1", port: port, spec: spec(.tcp)) == .pass)
        }
    }

    @Test func tcpFailsWhenNothingListens() async throws {
        let result = try await withClosedPort { port in
            await checker.check(address: "127.0.0.1", port: port, spec: spec(.tcp))
        }
        guard case let .fail(reason) = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(reason.hasPrefix("TCP connect to port"))
    }
}
