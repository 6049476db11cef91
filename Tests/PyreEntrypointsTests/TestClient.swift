import Glibc
import NIOCore
import NIOPosix

/// A loopback TCP client that records everything it receives, for driving the proxy in tests.
struct TestClient: Sendable {
    struct Closed: Error {
        let received: [UInt8]
    }

    let channel: any Channel
    private let collector: NIOLoopBound<Collector>

    static func connect(to port: Int) async throws -> TestClient {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let collector = try await loop.submit { NIOLoopBound(Collector(), eventLoop: loop) }.get()
        let channel = try await ClientBootstrap(group: loop)
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector.value) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return TestClient(channel: channel, collector: collector)
    }

    func send(_ bytes: some Sequence<UInt8>) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func send(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    /// Sends FIN; the other direction stays open.
    func shutDownOutput() async throws {
        try await channel.close(mode: .output)
    }

    func close() async {
        try? await channel.close()
    }

    /// Closes with a RST (SO_LINGER 0), as a client that gives up does.
    func reset() async {
        try? await (channel as? any SocketOptionProvider)?.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
        try? await channel.close()
    }

    /// The first line the server sent (the test backends send their name on connect).
    func firstLine() async throws -> String {
        let bytes = try await wait { $0.contains(UInt8(ascii: "\n")) }
        return String(decoding: bytes.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
    }

    /// Waits until at least `count` bytes arrived; returns all received so far.
    func received(atLeast count: Int) async throws -> [UInt8] {
        try await wait { $0.count >= count }
    }

    /// Waits for the server's FIN or the connection's end; returns everything received and the error, if any.
    func untilEnd() async throws -> (received: [UInt8], error: (any Error)?) {
        let collector = self.collector
        let received = try await channel.eventLoop.flatSubmit { collector.value.end() }.get()
        let error = try await channel.eventLoop.submit { collector.value.error.map { "\($0)" } }.get()
        return (received, error.map(ClientError.init))
    }

    struct ClientError: Error, CustomStringConvertible {
        let description: String
    }

    private func wait(until condition: @escaping @Sendable ([UInt8]) -> Bool) async throws -> [UInt8] {
        let collector = self.collector
        return try await channel.eventLoop.flatSubmit { collector.value.wait(until: condition) }.get()
    }
}

/// Records what a client receives; every wait fails after `deadline`, so a hung proxy fails a test instead of stalling it.
private final class Collector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    struct TimedOut: Error {
        let received: [UInt8]
    }

    private static let deadline = TimeAmount.seconds(20)

    private var received: [UInt8] = []
    private var ended = false
    private(set) var error: (any Error)?
    /// Condition nil: wait for the end.
    private var waiters: [Int: (condition: (([UInt8]) -> Bool)?, promise: EventLoopPromise<[UInt8]>)] = [:]
    private var nextWaiter = 0
    private var loop: (any EventLoop)?

    func handlerAdded(context: ChannelHandlerContext) {
        loop = context.eventLoop
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received.append(contentsOf: unwrapInboundIn(data).readableBytesView)
        settle()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { finish() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.error = self.error ?? error
        context.close(promise: nil)
    }

    func wait(until condition: @escaping ([UInt8]) -> Bool) -> EventLoopFuture<[UInt8]> {
        register(condition)
    }

    func end() -> EventLoopFuture<[UInt8]> {
        register(nil)
    }

    private func register(_ condition: (([UInt8]) -> Bool)?) -> EventLoopFuture<[UInt8]> {
        let loop = self.loop!
        let promise = loop.makePromise(of: [UInt8].self)
        let id = nextWaiter
        nextWaiter += 1
        waiters[id] = (condition, promise)
        let timeout = loop.assumeIsolated().scheduleTask(in: Self.deadline) {
            self.waiters.removeValue(forKey: id)?.promise.fail(TimedOut(received: self.received))
        }
        promise.futureResult.whenComplete { _ in timeout.cancel() }
        settle()
        return promise.futureResult
    }

    private func finish() {
        ended = true
        settle()
    }

    private func settle() {
        for (id, waiter) in waiters {
            if let condition = waiter.condition, condition(received) {
                waiter.promise.succeed(received)
            } else if ended {
                if waiter.condition == nil {
                    waiter.promise.succeed(received)
                } else {
                    waiter.promise.fail(TestClient.Closed(received: received))
                }
            } else {
                continue
            }
            waiters[id] = nil
        }
    }
}
