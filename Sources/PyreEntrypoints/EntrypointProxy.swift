import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A listener on a fixed address that forwards each new TCP connection to one of the published
/// backends of a service.
///
/// A connection is counted against its backend from the moment that backend is picked until the
/// client side closes. When no backend is published, or none accepts a connect, the client
/// connection is accepted and reset at once (see `ConnectionForwarder.reset`): the listener stays
/// bound throughout, so the address is never lost to a rebind and clients never hang.
public final class EntrypointProxy: Sendable {
    public let name: String
    private let group: MultiThreadedEventLoopGroup
    private let table: BackendTable
    private let forwarder: ConnectionForwarder
    private let logger: Logger
    private let listener = Mutex<(any Channel)?>(nil)

    public init(
        name: String, balance: BalanceStrategy = .leastConnections, connectTimeout: Duration = .seconds(2),
        group: MultiThreadedEventLoopGroup = .singleton, logger: Logger
    ) {
        var logger = logger
        logger[metadataKey: "entrypoint"] = "\(name)"
        self.name = name
        self.group = group
        self.logger = logger
        self.table = BackendTable(strategy: balance)
        self.forwarder = ConnectionForwarder(table: table, connectTimeout: TimeAmount(connectTimeout), logger: logger)
    }

    /// Binds and listens; returns the bound port (port 0 = ephemeral).
    public func start(host: String, port: Int) async throws -> Int {
        let forwarder = self.forwarder
        // One listener; accepted connections are spread over all the group's event loops.
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelOption(ChannelOptions.autoRead, value: false)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ForwardOnActiveHandler(forwarder))
                }
            }
            .bind(host: host, port: port).get()
        let previous = listener.withLock { current in
            defer { current = channel }
            return current
        }
        previous?.close(promise: nil)  // a second start moves the entry point
        logger.info("entry point listening", metadata: ["address": "\(channel.localAddress.map { "\($0)" } ?? "?")"])
        return channel.localAddress?.port ?? port
    }

    /// Replaces the set new connections go to (published servers). Connections already open to a
    /// backend that leaves the set continue untouched.
    public func setBackends(_ backends: [EntrypointBackend]) {
        table.publish(backends)
    }

    /// Open proxied connections to the backend `id`, counting one whose connect is under way.
    public func connectionCount(of id: String) -> Int {
        table.count(of: id)
    }

    /// Waits until no connection to `id` is open or `timeout` passed, then closes what is left;
    /// returns how many it had to close. Call it after `setBackends` no longer lists `id`.
    public func drain(_ id: String, timeout: Duration) async -> Int {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.table.waitUntilIdle(id) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        let left = table.connections(of: id)
        if !left.isEmpty {
            logger.warning("drain timed out; resetting connections", metadata: ["backend": "\(id)", "count": "\(left.count)"])
        }
        await Self.reset(left)
        return left.count
    }

    /// Closes the listener and resets every connection still open.
    public func stop() async {
        let channel = listener.withLock { $0.take() }
        try? await channel?.close()
        await Self.reset(table.allConnections())
    }

    private static func reset(_ connections: [any Channel]) async {
        for connection in connections {
            ConnectionForwarder.reset(connection)
            try? await connection.closeFuture.get()
        }
    }
}
