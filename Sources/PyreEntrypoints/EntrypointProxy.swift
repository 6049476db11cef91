import Glibc
import Logging
import Synchronization

/// A listener on a fixed address that forwards each new TCP connection to one of the published
/// backends of a service.
///
/// A connection is counted against its backend from the moment that backend is picked until the
/// client side closes. When no backend is published, or none accepts a connect, the client
/// connection is accepted and reset at once (see `TCPSocket.reset`): the listener stays
/// bound throughout, so the address is never lost to a rebind and clients never hang.
public final class EntrypointProxy: Sendable {
    public let name: String
    private let context: RelayContext
    private let listener = Mutex<RelayListener?>(nil)

    /// `retryUnanswered`: a backend that resets a connection before answering is replaced by the
    /// next one (see ``RelayedConnection``).
    public init(name: String, balance: BalanceStrategy = .leastConnections, connectTimeout: Duration = .seconds(2),
                retryUnanswered: Bool = true, logger: Logger) {
        var logger = logger
        logger[metadataKey: "entrypoint"] = "\(name)"
        self.name = name
        self.context = RelayContext(table: BackendTable(strategy: balance), connectTimeout: connectTimeout,
                                    retryUnanswered: retryUnanswered, logger: logger)
    }

    /// Binds and listens; returns the bound port (port 0 = ephemeral).
    public func start(host: String, port: Int) async throws -> Int {
        let (descriptor, bound) = try TCPSocket.listen(on: TCPAddress(host: host, port: port, numericOnly: false))
        let opened = RelayListener(descriptor: descriptor, context: context)
        for loop in RelayLoop.shared { loop.execute { $0.add(opened) } }
        let previous = listener.withLock { current in
            defer { current = opened }
            return current
        }
        if let previous { await Self.close(previous) }  // a second start moves the entry point
        context.logger.info("entry point listening", metadata: ["address": "\(host):\(bound)"])
        return bound
    }

    /// Replaces the set new connections go to (published servers). Connections already open to a
    /// backend that leaves the set continue untouched.
    public func setBackends(_ backends: [EntrypointBackend]) {
        context.table.publish(backends)
    }

    /// Connections, refusals, backend errors and bytes since the entry point was made.
    public var statistics: EntrypointStatistics { context.counters.statistics }

    /// Open proxied connections to the backend `id`, counting one whose connect is under way.
    public func connectionCount(of id: String) -> Int {
        context.table.count(of: id)
    }

    /// Waits until no connection to `id` is open or `timeout` passed, then closes what is left;
    /// returns how many it had to close. Call it after `setBackends` no longer lists `id`.
    public func drain(_ id: String, timeout: Duration) async -> Int {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.context.table.waitUntilIdle(id) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        let left = context.table.connections(of: id)
        if !left.isEmpty {
            context.logger.warning("drain timed out; resetting connections", metadata: ["backend": "\(id)", "count": "\(left.count)"])
        }
        await Self.reset(left)
        return left.count
    }

    /// Closes the listener and resets every connection still open.
    public func stop() async {
        if let opened = listener.withLock({ $0.take() }) { await Self.close(opened) }
        await Self.reset(context.table.allConnections())
    }

    /// Every loop stops watching the listener before it is closed, so none accepts from a reused descriptor.
    private static func close(_ listener: RelayListener) async {
        for loop in RelayLoop.shared { await loop.perform { $0.remove(listener) } }
        Glibc.close(listener.descriptor)
    }

    private static func reset(_ connections: [RelayedConnection]) async {
        for connection in connections {
            await connection.loop.perform { _ in connection.reset() }
        }
    }
}
