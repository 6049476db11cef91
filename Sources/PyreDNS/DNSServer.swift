import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Authoritative DNS over UDP and TCP for one zone, which `update` swaps atomically.
public final class DNSServer: Sendable {
    private let current: CurrentZone
    /// RFC 7766 §6.2.3: TCP connections idle this long are closed.
    private let tcpIdleTimeout: TimeAmount
    private let listeners = Mutex<[Listener]>([])
    private let forwarders = Mutex<[DNSForwarder]>([])
    private let logger: Logger
    /// Queries answered since the server started, for the agent's metrics.
    public let counts = DNSQueryCounts()
    private let group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

    public init(zone: DNSZone, logger: Logger, tcpIdleTimeout: TimeAmount = .seconds(10)) {
        current = CurrentZone(zone)
        self.logger = logger
        self.tcpIdleTimeout = tcpIdleTimeout
    }

    /// Swaps the zone atomically (a query sees the old or the new zone, never a mix).
    public func update(_ zone: DNSZone) {
        current.replace(with: zone)
        logger.debug("DNS zone updated", metadata: ["zone": "\(zone.apex)", "serial": "\(zone.serial)"])
    }

    public var zone: DNSZone { current.zone }

    /// Listens on UDP and TCP at host:port (port 0: an ephemeral port, the same for UDP and TCP); callable more than once for several addresses; returns the bound port.
    /// With `upstreams`, UDP queries for names outside the zone are relayed to them instead of
    /// refused: for clients whose only nameserver this listener is.
    public func start(host: String, port: Int, forwardingOutsideZoneTo upstreams: [SocketAddress] = []) async throws -> Int {
        var forwarder: DNSForwarder?
        if !upstreams.isEmpty {
            let started = try await DNSForwarder.start(upstreams: upstreams, logger: logger)
            forwarders.withLock { $0.append(started) }
            forwarder = started
        }
        var attempt = 0
        while true {
            attempt += 1
            do {
                let listener = try await bind(host: host, port: port)
                listeners.withLock { $0.append(listener) }
                listener.serve(zone: current, forwarder: forwarder, counts: counts)
                logger.info("DNS listening", metadata: [
                    "address": "\(host):\(listener.port)", "zone": "\(zone.apex)",
                    "udpSockets": "\(listener.udpSockets.count)",
                ])
                return listener.port
            } catch let error as BindFailure where port == 0 && attempt < 5 {
                // The ephemeral UDP port was taken for TCP by someone else: pick another.
                await error.opened.close()
            } catch let error as BindFailure {
                await error.opened.close()
                throw error.underlying
            }
        }
    }

    public func stop() async {
        for forwarder in forwarders.withLock({ $0 }) { await forwarder.stop() }
        for listener in listeners.withLock({ opened in
            defer { opened = [] }
            return opened
        }) {
            await listener.close()
        }
    }

    private struct BindFailure: Error {
        var opened: Listener
        var underlying: any Error
    }

    /// One UDP socket and serving thread per core (SO_REUSEPORT spreads datagrams over them)
    /// and one TCP listener whose connections are spread over NIO's event loops.
    private func bind(host: String, port: Int) async throws -> Listener {
        let opened = Listener()
        do {
            let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
            let first = try DNSUDPSocket(address: address, logger: logger)
            opened.udpSockets.append(first)
            let shared = try SocketAddress.makeAddressResolvingHost(host, port: first.port)
            for _ in 1..<System.coreCount {
                opened.udpSockets.append(try DNSUDPSocket(address: shared, logger: logger))
            }
            opened.tcp = try await makeTCPBootstrap().bind(to: shared).get()
            return opened
        } catch {
            throw BindFailure(opened: opened, underlying: error)
        }
    }

    private func makeTCPBootstrap() -> ServerBootstrap {
        let current = current
        let counts = counts
        let logger = logger
        let idleTimeout = tcpIdleTimeout
        return ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 256)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        IdleStateHandler(readTimeout: idleTimeout),
                        ByteToMessageHandler(DNSTCPFrameDecoder()),
                        DNSTCPHandler(zone: current, counts: counts, logger: logger),
                    ])
                }
            }
    }

}

/// The sockets of one `start` call: UDP sockets with their threads, and the TCP listener.
private final class Listener: @unchecked Sendable {
    // Filled by `bind` before the listener is shared; read-only afterwards.
    var udpSockets: [DNSUDPSocket] = []
    var tcp: (any Channel)?
    private var threads: NIOThreadPool?

    var port: Int { udpSockets.first?.port ?? 0 }

    func serve(zone: CurrentZone, forwarder: DNSForwarder?, counts: DNSQueryCounts) {
        let pool = NIOThreadPool(numberOfThreads: udpSockets.count)
        pool.start()
        for socket in udpSockets {
            pool.submit { _ in socket.serve(zone: zone, forwarder: forwarder, counts: counts) }
        }
        threads = pool
    }

    func close() async {
        for socket in udpSockets { socket.shutdownReceiving() }
        try? await threads?.shutdownGracefully()
        for socket in udpSockets { socket.close() }
        try? await tcp?.close()
    }
}

/// The zone every handler answers from. Handlers keep the responder they last used and
/// take the lock only when the generation moved, so a query costs one atomic load.
final class CurrentZone: Sendable {
    private let state: Mutex<DNSZone>
    private let generation = Atomic<Int>(0)

    init(_ zone: DNSZone) { state = Mutex(zone) }

    var zone: DNSZone { state.withLock { $0 } }

    func replace(with zone: DNSZone) {
        state.withLock { $0 = zone }
        generation.add(1, ordering: .releasing)
    }

    /// The responder for the current zone, refreshing `cache` when the zone changed.
    func responder(cache: inout (generation: Int, responder: DNSResponder)) -> DNSResponder {
        let current = generation.load(ordering: .acquiring)
        if current != cache.generation {
            cache = (current, DNSResponder(zone: zone))
        }
        return cache.responder
    }

    var cacheForNewHandler: (generation: Int, responder: DNSResponder) {
        (generation.load(ordering: .acquiring), DNSResponder(zone: zone))
    }
}
