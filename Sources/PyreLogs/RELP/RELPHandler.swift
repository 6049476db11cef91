import NIOCore
import PyreCore

/// One RELP connection: frames go through `RELPSession`; `syslog` messages of one read are
/// handed to the writer as one batch and acknowledged when the writer reports that batch
/// committed (fsynced). Responses leave in the order the session produced them: one owed
/// after a batch waits for that batch's acknowledgements.
final class RELPHandler: ChannelInboundHandler {
    typealias InboundIn = RELPFrame
    typealias OutboundOut = ByteBuffer

    private enum Outgoing {
        case batch(id: Int, transactions: [Int])
        case action(RELPSession.Action)
    }

    private let inbound: Inbound
    private var session = RELPSession()
    private var peer: String?
    private var records: [LogRecord] = []
    private var transactions: [Int] = []
    private var outbox: [Outgoing] = []
    private var outcomes: [Int: Result<UInt64, any Error>] = [:]
    private var nextBatch = 0

    init(inbound: Inbound) { self.inbound = inbound }

    func channelActive(context: ChannelHandlerContext) {
        peer = context.remoteAddress?.ipAddress
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        perform(session.receive(unwrapInboundIn(data)), context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        submitBatch(context: context)
        Backpressure.pauseWhileBusy(context.channel, writer: inbound.writer)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let malformed = error as? RELPFrameError else {
            // A reset or a read error: what was acknowledged is stored, the client resends the rest.
            // A session already closing is left to send its last responses.
            if !session.isClosed { context.close(promise: nil) }
            return
        }
        perform(session.reject(malformed), context: context)
    }

    private func perform(_ actions: [RELPSession.Action], context: ChannelHandlerContext) {
        for action in actions {
            if case let .store(transaction, message) = action {
                records.append(message.withUnsafeBytes { inbound.record($0, truncated: false, from: peer) })
                transactions.append(transaction)
            } else {
                submitBatch(context: context)
                outbox.append(.action(action))
            }
        }
        drain(context: context)
    }

    private func submitBatch(context: ChannelHandlerContext) {
        guard !records.isEmpty else { return }
        let id = nextBatch
        nextBatch += 1
        outbox.append(.batch(id: id, transactions: transactions))
        let committed = context.eventLoop.makePromise(of: UInt64.self)
        let queued = inbound.writer.submit(records, from: .relp) { committed.completeWith($0) }
        if !queued { committed.fail(PyreError(.logs, "the log store is stopping")) }
        records.removeAll(keepingCapacity: true)
        transactions.removeAll(keepingCapacity: true)
        committed.futureResult.assumeIsolated().whenComplete { [self] outcome in
            outcomes[id] = outcome
            drain(context: context)
        }
    }

    /// Sends what is due, in order, up to the first batch not yet committed.
    private func drain(context: ChannelHandlerContext) {
        var wrote = false
        sending: while let first = outbox.first {
            let actions: [RELPSession.Action]
            switch first {
            case let .action(action):
                actions = [action]
            case let .batch(id, transactions):
                guard let outcome = outcomes.removeValue(forKey: id) else { break sending }
                switch outcome {
                case .success: actions = session.committed(transactions)
                case let .failure(error): actions = session.commitFailed(transactions, reason: "\(error)")
                }
            }
            outbox.removeFirst()
            for action in actions {
                switch action {
                case let .send(frame):
                    var buffer = context.channel.allocator.buffer(capacity: 32 + frame.data.count)
                    frame.write(to: &buffer)
                    context.write(wrapOutboundOut(buffer), promise: nil)
                    wrote = true
                case .close:
                    context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(capacity: 0))).assumeIsolated()
                        .whenComplete { _ in context.close(promise: nil) }
                    outbox.removeAll()
                    return
                case .store:
                    break
                }
            }
        }
        if wrote { context.flush() }
    }
}
