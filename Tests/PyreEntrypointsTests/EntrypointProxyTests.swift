import Foundation
import Logging
import NIOCore
import NIOPosix
@testable import PyreEntrypoints
import Testing

/// Every test runs real sockets on 127.0.0.1 only. Waits fail after generous deadlines
/// (see `Collector`), so a hung proxy fails a test rather than stalling the run.
@Suite(.timeLimit(.minutes(2)))
struct EntrypointProxyTests {
    private func startProxy(
        _ balance: BalanceStrategy = .leastConnections, connectTimeout: Duration = .seconds(2),
        retryUnanswered: Bool = true, backends: [TestBackend] = []
    ) async throws -> (EntrypointProxy, port: Int) {
        var logger = Logger(label: "entrypoint-test")
        logger.logLevel = .error
        let proxy = EntrypointProxy(name: "test", balance: balance, connectTimeout: connectTimeout,
                                    retryUnanswered: retryUnanswered, logger: logger)
        proxy.setBackends(backends.map(\.backend))
        return (proxy, try await proxy.start(host: "127.0.0.1", port: 0))
    }

    private func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let words = (0..<(count / 8)).map { _ in generator.next() as UInt64 }
        return words.withUnsafeBytes { Array($0) }
    }

    /// Polls until `condition` holds; for counts that settle as closes propagate.
    private func eventually(_ condition: () -> Bool) async throws -> Bool {
        for _ in 0..<400 where !condition() {
            try await Task.sleep(for: .milliseconds(25))
        }
        return condition()
    }

    @Test func forwardsALargePayloadIntactBothWays() async throws {
        let backend = try await TestBackend.start("a")
        let (proxy, port) = try await startProxy(backends: [backend])
        let payload = randomBytes(4 << 20)  // far more than the socket buffers, so backpressure engages

        let client = try await TestClient.connect(to: port)
        try await client.send(payload)
        try await client.shutDownOutput()
        let (received, error) = try await client.untilEnd()

        #expect(error == nil)
        #expect(received.count == 2 + payload.count)
        #expect(received == Array("a\n".utf8) + payload)
        #expect(try await eventually { proxy.statistics.bytesFromBackends > 0 })
        #expect(proxy.statistics == EntrypointStatistics(connections: 1, refused: 0, backendErrors: 0,
                                                         bytesFromClients: payload.count, bytesFromBackends: 2 + payload.count))
        await proxy.stop()
        await backend.stop()
    }

    @Test func halfCloseKeepsTheOtherDirectionFlowing() async throws {
        let backend = try await TestBackend.start("a", reportOnFIN: true)
        let (proxy, port) = try await startProxy(backends: [backend])

        let client = try await TestClient.connect(to: port)
        try await client.send("hello")
        try await client.shutDownOutput()
        let (received, _) = try await client.untilEnd()

        // The backend saw the FIN after all 5 bytes, and its reply still reached the client.
        #expect(String(decoding: received, as: UTF8.self) == "a\nhellogot 5\n")
        #expect(try await eventually { proxy.connectionCount(of: "a") == 0 })
        await proxy.stop()
        await backend.stop()
    }

    @Test func leastConnectionsSpreadsOpenConnectionsAndRefillsTheEmptiest() async throws {
        let backends = [try await TestBackend.start("a"), try await TestBackend.start("b"), try await TestBackend.start("c")]
        let (proxy, port) = try await startProxy(.leastConnections, backends: backends)

        var clients: [(name: String, client: TestClient)] = []
        for _ in 0..<6 {
            let client = try await TestClient.connect(to: port)
            clients.append((try await client.firstLine(), client))
        }
        #expect(clients.map(\.name).sorted() == ["a", "a", "b", "b", "c", "c"])
        #expect(["a", "b", "c"].map(proxy.connectionCount(of:)) == [2, 2, 2])

        for (name, client) in clients where name == "b" { await client.close() }
        #expect(try await eventually { proxy.connectionCount(of: "b") == 0 })
        let next = try await TestClient.connect(to: port)
        #expect(try await next.firstLine() == "b")

        await proxy.stop()
        for backend in backends { await backend.stop() }
    }

    @Test func roundRobinTakesEachBackendInTurn() async throws {
        let backends = [try await TestBackend.start("a"), try await TestBackend.start("b"), try await TestBackend.start("c")]
        let (proxy, port) = try await startProxy(.roundRobin, backends: backends)

        var names: [String] = []
        for _ in 0..<6 {
            let client = try await TestClient.connect(to: port)
            names.append(try await client.firstLine())
            await client.close()
        }
        #expect(names == ["a", "b", "c", "a", "b", "c"])
        await proxy.stop()
        for backend in backends { await backend.stop() }
    }

    @Test func aRefusedConnectIsRetriedOnAnotherBackend() async throws {
        let live = try await TestBackend.start("live")
        let dead = EntrypointBackend(id: "dead", host: "127.0.0.1", port: try await refusingPort())
        let (proxy, port) = try await startProxy(.roundRobin)
        proxy.setBackends([dead, live.backend])

        for _ in 0..<4 {
            let client = try await TestClient.connect(to: port)
            #expect(try await client.firstLine() == "live")
            await client.close()
        }
        #expect(proxy.connectionCount(of: "dead") == 0)
        await proxy.stop()
        await live.stop()
    }

    @Test func aConnectTimeoutIsRetriedOnAnotherBackend() async throws {
        let hole = try BlackholeListener()
        try await confirmConnectsHang(to: hole.port)
        let live = try await TestBackend.start("live")
        let (proxy, port) = try await startProxy(.roundRobin, connectTimeout: .milliseconds(300))
        proxy.setBackends([EntrypointBackend(id: "hole", host: "127.0.0.1", port: hole.port), live.backend])

        let client = try await TestClient.connect(to: port)  // round robin offers "hole" first
        #expect(try await client.firstLine() == "live")
        await proxy.stop()
        await live.stop()
        withExtendedLifetime(hole) {}
    }

    @Test func aTimedOutConnectWithNothingElseLeftIsRefused() async throws {
        let hole = try BlackholeListener()
        try await confirmConnectsHang(to: hole.port)
        let (proxy, port) = try await startProxy(connectTimeout: .milliseconds(300))
        proxy.setBackends([EntrypointBackend(id: "hole", host: "127.0.0.1", port: hole.port)])

        try await expectReset(port)
        #expect(try await eventually { proxy.connectionCount(of: "hole") == 0 })
        await proxy.stop()
        withExtendedLifetime(hole) {}
    }

    @Test func aClientThatGivesUpDuringTheConnectFreesItsBackend() async throws {
        let hole = try BlackholeListener()
        try await confirmConnectsHang(to: hole.port)
        let (proxy, port) = try await startProxy(connectTimeout: .seconds(60))
        proxy.setBackends([EntrypointBackend(id: "hole", host: "127.0.0.1", port: hole.port)])

        let client = try await TestClient.connect(to: port)
        #expect(try await eventually { proxy.connectionCount(of: "hole") == 1 })
        await client.reset()
        // Long before the connect would time out.
        #expect(try await eventually { proxy.connectionCount(of: "hole") == 0 })
        await proxy.stop()
        withExtendedLifetime(hole) {}
    }

    /// While its upload waits for a backend that does not read, the client's socket is asked for
    /// nothing; its reset must still end the connection.
    @Test func aClientResetWhileItsUploadWaitsClosesTheBackendConnection() async throws {
        let sink = try UnreadListener()
        let (proxy, port) = try await startProxy()
        proxy.setBackends([EntrypointBackend(id: "sink", host: "127.0.0.1", port: sink.port)])

        let payload = [UInt8](repeating: 7, count: 64 << 20)  // far more than the kernel buffers hold
        let client = try await TestClient.connect(to: port)
        let upload = Task { try? await client.send(payload) }
        #expect(try await eventually { proxy.connectionCount(of: "sink") == 1 })
        try await Task.sleep(for: .seconds(1))
        await client.reset()
        #expect(try await eventually { proxy.connectionCount(of: "sink") == 0 })
        upload.cancel()
        await proxy.stop()
        withExtendedLifetime(sink) {}
    }

    /// The timeout tests rely on the kernel dropping SYNs to a full accept queue; check that first.
    /// A connection queued at a server that goes down is reset with the request unread: the
    /// client gets its answer from the next backend, which receives the request whole.
    @Test func aBackendResetBeforeAnswerIsRetriedWithWhatTheClientSent() async throws {
        let queued = try UnreadListener()
        let live = try await TestBackend.start("live")
        let (proxy, port) = try await startProxy(.roundRobin)
        proxy.setBackends([EntrypointBackend(id: "queued", host: "127.0.0.1", port: queued.port), live.backend])

        let client = try await TestClient.connect(to: port)  // round robin offers "queued" first
        try await client.send("GET / HTTP/1.0\r\n\r\n")
        #expect(try await eventually { proxy.connectionCount(of: "queued") == 1 })
        try await Task.sleep(for: .milliseconds(100))  // the request reaches the queued connection
        queued.close()
        let expected = "live\nGET / HTTP/1.0\r\n\r\n"
        #expect(String(decoding: try await client.received(atLeast: expected.utf8.count), as: UTF8.self) == expected)
        #expect(proxy.connectionCount(of: "queued") == 0)
        await client.close()
        #expect(try await eventually { proxy.statistics.bytesFromBackends > 0 })
        #expect(proxy.statistics == EntrypointStatistics(connections: 1, refused: 0, backendErrors: 1, bytesFromClients: 18,
                                                         bytesFromBackends: expected.utf8.count),
                "the replayed request counts once")
        await proxy.stop()
        await live.stop()
    }

    /// With `retry_unanswered: false` the same reset reaches the client, and nothing goes elsewhere.
    @Test func withoutRetryingUnansweredTheResetReachesTheClient() async throws {
        let queued = try UnreadListener()
        let live = try await TestBackend.start("live")
        let (proxy, port) = try await startProxy(.roundRobin, retryUnanswered: false)
        proxy.setBackends([EntrypointBackend(id: "queued", host: "127.0.0.1", port: queued.port), live.backend])

        let client = try await TestClient.connect(to: port)
        try await client.send("INCR counter\r\n")
        #expect(try await eventually { proxy.connectionCount(of: "queued") == 1 })
        try await Task.sleep(for: .milliseconds(100))
        queued.close()
        let (received, error) = try await client.untilEnd()
        #expect(received.isEmpty && error != nil, "a reset, not an answer from live")
        #expect(proxy.connectionCount(of: "live") == 0)
        await proxy.stop()
        await live.stop()
    }

    /// A backend that read the request and closed (a FIN) may have acted on it: its close is
    /// passed on, and the request goes nowhere else.
    @Test func aBackendThatReadAndClosedIsNotRetried() async throws {
        let swallow = try await startSwallowingBackend("swallow")
        let live = try await TestBackend.start("live")
        let (proxy, port) = try await startProxy(.roundRobin)
        proxy.setBackends([swallow.backend, live.backend])

        let client = try await TestClient.connect(to: port)
        try await client.send("POST /pay HTTP/1.0\r\n\r\n")
        let (received, _) = try await client.untilEnd()
        #expect(received.isEmpty, "got \(String(decoding: received, as: UTF8.self))")
        #expect(proxy.connectionCount(of: "live") == 0)
        await proxy.stop()
        await swallow.stop()
        await live.stop()
    }

    private func confirmConnectsHang(to port: Int) async throws {
        let direct = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connectTimeout(.milliseconds(200))
        do {
            let channel = try await direct.connect(host: "127.0.0.1", port: port).get()
            try? await channel.close()
            Issue.record("a connect to the full listener succeeded; is net.ipv4.tcp_abort_on_overflow set?")
        } catch ChannelError.connectTimeout {
            // As intended: the connect neither succeeds nor fails.
        }
    }

    /// The proxy accepts and resets; the reset can even reach the client before its connect
    /// completes, so either way counts: the connect fails, or the connection ends in an error unread.
    private func expectReset(_ port: Int) async throws {
        let client: TestClient
        do {
            client = try await TestClient.connect(to: port)
        } catch {
            return
        }
        let (received, error) = try await client.untilEnd()
        #expect(received.isEmpty)
        #expect(error != nil, "expected a reset")
    }

    @Test func withNoBackendsAClientIsResetAtOnce() async throws {
        let (proxy, port) = try await startProxy()
        // A hang fails through TestClient's deadline; no timed assertion, which a busy
        // machine running the full suite broke.
        try await expectReset(port)
        await proxy.stop()
    }

    @Test func withOnlyRefusingBackendsAClientIsResetAtOnce() async throws {
        let (proxy, port) = try await startProxy()
        proxy.setBackends([
            EntrypointBackend(id: "x", host: "127.0.0.1", port: try await refusingPort()),
            EntrypointBackend(id: "y", host: "127.0.0.1", port: try await refusingPort()),
        ])
        try await expectReset(port)
        #expect(try await eventually { proxy.statistics.refused == 1 })
        #expect(proxy.statistics == EntrypointStatistics(connections: 1, refused: 1, backendErrors: 2, bytesFromClients: 0,
                                                         bytesFromBackends: 0))
        await proxy.stop()
    }

    @Test func anUnpublishedBackendKeepsItsOpenConnectionsAndGetsNoNewOnes() async throws {
        let old = try await TestBackend.start("old")
        let new = try await TestBackend.start("new")
        let (proxy, port) = try await startProxy(backends: [old])
        let client = try await TestClient.connect(to: port)
        #expect(try await client.firstLine() == "old")

        proxy.setBackends([new.backend])
        try await client.send("still here")
        #expect(try await client.received(atLeast: 4 + 10) == Array("old\nstill here".utf8))
        #expect(proxy.connectionCount(of: "old") == 1)
        for _ in 0..<3 {
            let fresh = try await TestClient.connect(to: port)
            #expect(try await fresh.firstLine() == "new")
            await fresh.close()
        }

        await proxy.stop()
        await old.stop()
        await new.stop()
    }

    @Test func drainWaitsForAnOpenConnectionToFinish() async throws {
        let backend = try await TestBackend.start("a")
        let (proxy, port) = try await startProxy(backends: [backend])
        let client = try await TestClient.connect(to: port)
        #expect(try await client.firstLine() == "a")
        proxy.setBackends([])

        let draining = Task { await proxy.drain("a", timeout: .seconds(60)) }
        try await Task.sleep(for: .milliseconds(200))
        try await client.send("x")
        #expect(try await client.received(atLeast: 3) == Array("a\nx".utf8))  // drain has not cut it
        await client.close()

        #expect(await draining.value == 0)
        #expect(proxy.connectionCount(of: "a") == 0)
        await proxy.stop()
        await backend.stop()
    }

    @Test func drainClosesWhatIsLeftAfterTheTimeout() async throws {
        let backend = try await TestBackend.start("a")
        let (proxy, port) = try await startProxy(backends: [backend])
        let first = try await TestClient.connect(to: port)
        let second = try await TestClient.connect(to: port)
        #expect(try await first.firstLine() == "a")
        #expect(try await second.firstLine() == "a")
        proxy.setBackends([])

        #expect(await proxy.drain("a", timeout: .milliseconds(300)) == 2)
        #expect(proxy.connectionCount(of: "a") == 0)
        _ = try await first.untilEnd()
        _ = try await second.untilEnd()
        #expect(await proxy.drain("a", timeout: .seconds(60)) == 0)  // nothing open: returns at once
        await proxy.stop()
        await backend.stop()
    }

    @Test func stopClosesTheListener() async throws {
        let backend = try await TestBackend.start("a")
        let (proxy, port) = try await startProxy(backends: [backend])
        let client = try await TestClient.connect(to: port)
        #expect(try await client.firstLine() == "a")

        await proxy.stop()
        // Under a full suite another test's listener may take the freed port at once: what
        // matters is that this proxy no longer forwards to its backend.
        if let late = try? await TestClient.connect(to: port) {
            #expect((try? await late.firstLine()) != "a")
            await late.close()
        }
        _ = try await client.untilEnd()  // and the open connection was closed
        await backend.stop()
    }
}
