import Glibc
import NIOCore
import NIOPosix
import PyreEntrypoints
import Synchronization

/// A loopback server that sends "NAME\n" on connect and then echoes. On the client's FIN it
/// (optionally) reports how many bytes it got, then sends its own FIN.
struct TestBackend: Sendable {
    let name: String
    let channel: any Channel

    var port: Int { channel.localAddress!.port! }
    var backend: EntrypointBackend { EntrypointBackend(id: name, host: "127.0.0.1", port: port) }

    static func start(_ name: String, reportOnFIN: Bool = false) async throws -> TestBackend {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(EchoHandler(name: name, reportOnFIN: reportOnFIN))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TestBackend(name: name, channel: channel)
    }

    func stop() async {
        try? await channel.close()
    }
}

private final class EchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let name: String
    private let reportOnFIN: Bool
    private var receivedCount = 0

    init(name: String, reportOnFIN: Bool) {
        self.name = name
        self.reportOnFIN = reportOnFIN
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: name + "\n")), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        receivedCount += unwrapInboundIn(data).readableBytes
        context.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard let event = event as? ChannelEvent, event == .inputClosed else { return }
        if reportOnFIN {
            context.write(wrapOutboundOut(ByteBuffer(string: "got \(receivedCount)\n")), promise: nil)
        }
        context.flush()
        context.close(mode: .output, promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// A loopback port that refuses every connection (RST) for the rest of the test run: bound
/// but never listening. The socket stays open, without SO_REUSEADDR, so that no other test's
/// listener can take the port meanwhile, which a closed port allowed under a full suite.
func refusingPort() async throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    return Int(UInt16(bigEndian: try bindToLoopback(descriptor, listenBacklog: nil).sin_port))
}

/// Binds `descriptor` to a free port of 127.0.0.1, listening when given a backlog; returns
/// the bound address.
private func bindToLoopback(_ descriptor: Int32, listenBacklog backlog: Int32?) throws -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sockaddr in
            bind(descriptor, sockaddr, length) == 0 && backlog.map { listen(descriptor, $0) == 0 } != false
                && getsockname(descriptor, sockaddr, &length) == 0
        }
    }
    guard bound else { throw BlackholeListener.Failure(errno: errno) }
    return address
}

/// A loopback listener whose accept queue is full and never drained. Linux then drops further SYNs
/// (with net.ipv4.tcp_abort_on_overflow at its default 0), so a connect to it neither succeeds nor
/// fails until the connector gives up: a reliable connect timeout without leaving 127.0.0.1.
final class BlackholeListener: Sendable {
    let port: Int
    private let descriptors: [Int32]

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = try bindToLoopback(listener, listenBacklog: 0)
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        var descriptors = [listener]
        // A backlog of 0 admits one connection; two more make sure the queue is full.
        for _ in 0..<3 {
            let filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            _ = withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(filler, $0, length) }
            }
            descriptors.append(filler)
        }
        self.port = Int(UInt16(bigEndian: address.sin_port))
        self.descriptors = descriptors
        usleep(100_000)  // let the fillers' handshakes settle into the queue
    }

    deinit {
        descriptors.forEach { _ = Glibc.close($0) }
    }

    struct Failure: Error {
        let errno: Int32
    }
}

/// A loopback listener that completes connects (the kernel's accept queue takes them) but never
/// accepts one, so nothing sent to it is read once the kernel's buffers are full. Closing it
/// resets the connections in its queue, as a server going down does.
final class UnreadListener: Sendable {
    let port: Int
    private let descriptor: Mutex<Int32>

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        port = Int(UInt16(bigEndian: try bindToLoopback(descriptor, listenBacklog: 16).sin_port))
        self.descriptor = Mutex(descriptor)
    }

    func close() {
        descriptor.withLock { descriptor in
            if descriptor >= 0 { _ = Glibc.close(descriptor) }
            descriptor = -1
        }
    }

    deinit { close() }
}

/// A loopback server that reads what a connection sends and closes it without a word: a FIN,
/// as from a server that took a request and went down before answering.
func startSwallowingBackend(_ name: String) async throws -> TestBackend {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(SwallowHandler()) }
        }
        .bind(host: "127.0.0.1", port: 0).get()
    return TestBackend(name: name, channel: channel)
}

private final class SwallowHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.close(promise: nil)
    }
}
