import Logging
import NIOCore
import NIOPosix

/// Connects each accepted client to a backend, trying the others when a connect fails, and splices
/// the two channels together. Runs on the client's event loop; the backend channel is put on the
/// same loop so the relay never hops threads.
struct ConnectionForwarder: Sendable {
    let table: BackendTable
    let connectTimeout: TimeAmount
    let logger: Logger

    /// Takes over an active client channel whose reads are still off: nothing it sends is consumed
    /// before a backend is connected, so a failed connect loses nothing and can be retried.
    func forward(_ client: any Channel) {
        table.track(client)
        client.closeFuture.whenComplete { [table] _ in table.forget(client) }
        dial(client, tried: [])
    }

    private func dial(_ client: any Channel, tried: Set<String>) {
        let target: BackendTable.Target
        switch table.assign(client, excluding: tried) {
        case .closed:
            return
        case .exhausted:
            logger.warning(
                tried.isEmpty ? "no published backend; connection refused" : "no backend accepted; connection refused",
                metadata: ["tried": "\(tried.sorted())"])
            Self.reset(client)
            return
        case .target(let chosen):
            target = chosen
        }
        let bootstrap = ClientBootstrap(group: client.eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .channelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .channelOption(ChannelOptions.autoRead, value: false)
        let backend = target.backend
        let connecting = target.address.map { bootstrap.connect(to: $0) }
            ?? bootstrap.connect(host: backend.host, port: backend.port)
        connecting.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let server):
                guard client.isActive else {
                    server.close(promise: nil)
                    return
                }
                splice(client, server)
            case .failure(let error):
                logger.warning(
                    "connect to backend failed; trying another",
                    metadata: ["backend": "\(backend.id)", "address": "\(backend.host):\(backend.port)",
                               "error": "\(error)"])
                guard client.isActive else { return }
                dial(client, tried: tried.union([backend.id]))
            }
        }
    }

    private func splice(_ client: any Channel, _ server: any Channel) {
        let (clientSide, serverSide) = RelayHandler.pair()
        do {
            try client.pipeline.syncOperations.addHandler(clientSide)
            try server.pipeline.syncOperations.addHandler(serverSide)
            try client.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
            try server.syncOptions?.setOption(ChannelOptions.autoRead, value: true)
        } catch {
            client.close(promise: nil)
            server.close(promise: nil)
        }
    }

    /// Closes with SO_LINGER 0, so the peer gets a RST: its next read or write fails at once with
    /// "connection reset", which a client cannot mistake for an empty but complete reply.
    static func reset(_ channel: any Channel) {
        guard let options = channel as? SocketOptionProvider else {
            channel.close(promise: nil)
            return
        }
        options.setSoLinger(NIOLinger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
    }
}

/// Hands an accepted channel to the forwarder once it is active on its event loop, then leaves the pipeline.
final class ForwardOnActiveHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let forwarder: ConnectionForwarder

    init(_ forwarder: ConnectionForwarder) {
        self.forwarder = forwarder
    }

    func channelActive(context: ChannelHandlerContext) {
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        forwarder.forward(context.channel)
        context.fireChannelActive()
    }
}
