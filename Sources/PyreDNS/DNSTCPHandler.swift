import Logging
import NIOCore

/// Splits a TCP stream into messages, each preceded by its 2-byte length (RFC 1035 §4.2.2).
struct DNSTCPFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt16.self),
              buffer.readableBytes >= 2 + Int(length)
        else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 2)
        guard let message = buffer.readSlice(length: Int(length)) else { return .needMoreData }
        context.fireChannelRead(NIOAny(message))
        return .continue
    }
}

/// Answers every message on a connection in order (RFC 7766 §6.2.1: several queries,
/// pipelined); closes it when idle or when a message is not a query.
final class DNSTCPHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let zone: CurrentZone
    private let logger: Logger
    private let counts: DNSQueryCounts
    private var hasUnflushedReplies = false
    private var cachedResponder: (generation: Int, responder: DNSResponder)

    init(zone: CurrentZone, counts: DNSQueryCounts, logger: Logger) {
        self.zone = zone
        self.counts = counts
        self.logger = logger
        cachedResponder = zone.cacheForNewHandler
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let query = unwrapInboundIn(data)
        let responder = zone.responder(cache: &cachedResponder)
        var reply = context.channel.allocator.buffer(capacity: 514)
        reply.writeInteger(UInt16(0))
        let answered = query.withUnsafeReadableBytes {
            responder.respond(to: $0, transport: .tcp, into: &reply)
        }
        guard answered else {
            context.close(promise: nil)
            return
        }
        reply.setInteger(UInt16(reply.readableBytes - 2), at: reply.readerIndex)
        if let rcode = RcodeTally.rcode(of: reply, headerAt: 2) { counts.add(rcode: rcode, transport: .tcp) }
        context.write(wrapOutboundOut(reply), promise: nil)
        hasUnflushedReplies = true
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        guard hasUnflushedReplies else { return }
        hasUnflushedReplies = false
        context.flush()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("DNS TCP connection closed", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}
