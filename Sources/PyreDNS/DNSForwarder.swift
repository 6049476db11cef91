import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Relays queries for names outside the zone to upstream resolvers, for clients that have
/// no other nameserver (servers in their namespaces). UDP only; a query the upstreams do
/// not answer within the timeout is dropped, and the client's resolver retries as usual.
final class DNSForwarder: Sendable {
    private struct Pending {
        var clientID: UInt16
        var reply: @Sendable (ByteBuffer) -> Void
        var deadline: NIODeadline
    }

    private let upstreams: [SocketAddress]
    private let timeout: TimeAmount
    private let pending = Mutex<[UInt16: Pending]>([:])
    private let nextID = Atomic<UInt16>(UInt16.random(in: .min ... .max))
    private let channel: any Channel
    private let logger: Logger

    static func start(upstreams: [SocketAddress], timeout: TimeAmount = .seconds(3), logger: Logger) async throws -> DNSForwarder {
        let box = ForwarderBox()
        let channel = try await DatagramBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UpstreamReplyHandler(box: box))
                }
            }
            .bind(host: upstreams.first?.protocol == .inet6 ? "::" : "0.0.0.0", port: 0).get()
        let forwarder = DNSForwarder(upstreams: upstreams, timeout: timeout, channel: channel, logger: logger)
        box.forwarder.withLock { $0 = forwarder }
        return forwarder
    }

    private init(upstreams: [SocketAddress], timeout: TimeAmount, channel: any Channel, logger: Logger) {
        self.upstreams = upstreams
        self.timeout = timeout
        self.channel = channel
        self.logger = logger
    }

    /// Sends `query` upstream under a fresh id; the upstream's answer, with the client's id
    /// restored, is handed to `reply`.
    func forward(_ query: ByteBuffer, replyingWith reply: @escaping @Sendable (ByteBuffer) -> Void) {
        guard query.readableBytes >= 12, let clientID = query.getInteger(at: query.readerIndex, as: UInt16.self),
              !upstreams.isEmpty else { return }
        let now = NIODeadline.now()
        let id: UInt16? = pending.withLock { table in
            table = table.filter { $0.value.deadline > now }
            guard table.count < Int(UInt16.max) / 2 else { return nil }
            var id = nextID.wrappingAdd(1, ordering: .relaxed).newValue
            while table[id] != nil { id = nextID.wrappingAdd(1, ordering: .relaxed).newValue }
            table[id] = Pending(clientID: clientID, reply: reply, deadline: now + timeout)
            return id
        }
        guard let id else { return }
        var outgoing = query
        outgoing.setInteger(id, at: outgoing.readerIndex)
        let upstream = upstreams[Int(id) % upstreams.count]
        channel.writeAndFlush(AddressedEnvelope(remoteAddress: upstream, data: outgoing), promise: nil)
    }

    fileprivate func relay(_ reply: AddressedEnvelope<ByteBuffer>) {
        guard upstreams.contains(reply.remoteAddress),
              let id = reply.data.getInteger(at: reply.data.readerIndex, as: UInt16.self),
              let entry = pending.withLock({ $0.removeValue(forKey: id) }) else { return }
        var answer = reply.data
        answer.setInteger(entry.clientID, at: answer.readerIndex)
        entry.reply(answer)
    }

    func stop() async {
        try? await channel.close()
    }
}

/// Lets the reply handler reach the forwarder, which exists only once its channel is bound.
private final class ForwarderBox: Sendable {
    let forwarder = Mutex<DNSForwarder?>(nil)
}

private final class UpstreamReplyHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    private let box: ForwarderBox

    init(box: ForwarderBox) { self.box = box }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        box.forwarder.withLock { $0 }?.relay(unwrapInboundIn(data))
    }

    /// An unreachable upstream must not close the socket for the others.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {}
}
