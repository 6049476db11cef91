import Logging
import NIOCore

/// Answers each datagram; replies are flushed once per read burst so NIO can send them
/// together.
final class DNSUDPHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    /// Datagrams taken per recvmmsg call.
    static let messagesPerRead = 32
    /// A longer query is cut by the kernel and so answered FORMERR (queries are rarely > 512).
    static let maxQuerySize = 2048

    private let zone: CurrentZone
    private let logger: Logger
    private var hasUnflushedReplies = false
    private var cachedResponder: (generation: Int, responder: DNSResponder)

    init(zone: CurrentZone, logger: Logger) {
        self.zone = zone
        self.logger = logger
        cachedResponder = zone.cacheForNewHandler
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let responder = zone.responder(cache: &cachedResponder)
        var reply = context.channel.allocator.buffer(capacity: 512)
        let answered = envelope.data.withUnsafeReadableBytes {
            responder.respond(to: $0, transport: .udp, into: &reply)
        }
        guard answered else { return }
        context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: reply)),
                      promise: nil)
        hasUnflushedReplies = true
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        guard hasUnflushedReplies else { return }
        hasUnflushedReplies = false
        context.flush()
    }

    /// A failed send to one client must not close the socket serving all the others.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("DNS UDP error", metadata: ["error": "\(error)"])
    }
}
