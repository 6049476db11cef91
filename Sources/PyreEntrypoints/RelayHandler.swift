import NIOCore

/// One side of a proxied connection: what its channel reads is written to the partner's channel.
///
/// Backpressure: a side reads only while its partner is writable, and a partner becoming writable
/// again restarts the held read. Half-close: a FIN on one side shuts down the partner's output once
/// what was already relayed is written; NIO closes a channel fully once both its directions are shut.
/// Both handlers of a pair live on the same event loop, so they call each other directly.
final class RelayHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var partner: RelayHandler?
    private var context: ChannelHandlerContext?
    private var readHeld = false
    /// The peer sent FIN.
    private var inputClosed = false

    private init() {}

    static func pair() -> (RelayHandler, RelayHandler) {
        let (first, second) = (RelayHandler(), RelayHandler())
        first.partner = second
        second.partner = first
        return (first, second)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        self.partner = nil
    }

    // MARK: inbound: forward to the partner

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner?.context?.write(data, promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        partner?.context?.flush()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { partner?.releaseHeldRead() }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            inputClosed = true
            partner?.shutDownOutputAfterPendingWrites()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // After a clean close in both directions the partner shuts itself once its writes are out;
        // otherwise (reset, error, forced close) there is nothing left to relay.
        if let partner, !(inputClosed && partner.inputClosed) {
            partner.context?.close(promise: nil)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    // MARK: outbound: hold reads while the partner cannot take more

    func read(context: ChannelHandlerContext) {
        if let partnerChannel = partner?.context?.channel, !partnerChannel.isWritable {
            readHeld = true
        } else {
            context.read()
        }
    }

    private func releaseHeldRead() {
        guard readHeld, let context else { return }
        readHeld = false
        context.read()
    }

    private func shutDownOutputAfterPendingWrites() {
        guard let context else { return }
        // An empty write completes after every earlier write, so nothing relayed before the FIN is lost.
        let flushed = context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0)))
        flushed.assumeIsolated().whenComplete { result in
            switch result {
            case .success: context.close(mode: .output, promise: nil)
            case .failure: context.close(promise: nil)
            }
        }
    }
}
