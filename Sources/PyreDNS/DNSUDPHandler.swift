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
    private let forwarder: DNSForwarder?
    private let logger: Logger
    private var hasUnflushedReplies = false
    private var cachedResponder: (generation: Int, responder: DNSResponder)

    init(zone: CurrentZone, forwarder: DNSForwarder?, logger: Logger) {
        self.zone = zone
        self.forwarder = forwarder
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
        if let forwarder, Self.isRefusedQuery(reply) {
            // Outside the zone, for a listener that serves clients with no other nameserver.
            forwarder.forward(envelope.data, from: envelope.remoteAddress, via: context.channel)
            return
        }
        context.write(wrapOutboundOut(AddressedEnvelope(remoteAddress: envelope.remoteAddress, data: reply)),
                      promise: nil)
        hasUnflushedReplies = true
    }

    /// REFUSED to a standard query: the responder's answer for a name outside the zone.
    private static func isRefusedQuery(_ reply: ByteBuffer) -> Bool {
        guard let flags = reply.getInteger(at: reply.readerIndex + 2, as: UInt16.self) else { return false }
        return flags & 0x000F == 5 && (flags >> 11) & 0xF == 0
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
