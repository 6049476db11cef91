import Logging
import NIOCore
import NIOPosix
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Authoritative DNS over UDP and TCP for one zone, which `update` swaps atomically.
public final class DNSServer: Sendable {
    private let current: CurrentZone
    /// RFC 7766 §6.2.3: TCP connections idle this long are closed.
    private let tcpIdleTimeout: TimeAmount
    private let channels = Mutex<[any Channel]>([])
    private let forwarders = Mutex<[DNSForwarder]>([])
    private let logger: Logger
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
                let (bound, port) = try await bind(host: host, port: port, forwarder: forwarder)
                channels.withLock { $0.append(contentsOf: bound) }
                logger.info("DNS listening", metadata: [
                    "address": "\(host):\(port)", "zone": "\(zone.apex)", "udpSockets": "\(bound.count - 1)",
                ])
                return port
            } catch let error as BindFailure where port == 0 && attempt < 5 {
                // The ephemeral UDP port was taken for TCP by someone else: pick another.
                await closeAll(error.opened)
            } catch let error as BindFailure {
                await closeAll(error.opened)
                throw error.underlying
            }
        }
    }

    public func stop() async {
        for forwarder in forwarders.withLock({ $0 }) { await forwarder.stop() }
        await closeAll(channels.withLock { opened in
            defer { opened = [] }
            return opened
        })
    }

    private struct BindFailure: Error {
        var opened: [any Channel]
        var underlying: any Error
    }

    /// One UDP socket per event loop (SO_REUSEPORT spreads datagrams over the cores) and one
    /// TCP listener whose connections are spread over the same loops.
    private func bind(host: String, port: Int, forwarder: DNSForwarder?) async throws -> ([any Channel], Int) {
        var opened: [any Channel] = []
        var boundPort = port
        do {
            for loop in group.makeIterator() {
                let channel = try await makeUDPBootstrap(loop, forwarder: forwarder).bind(host: host, port: boundPort).get()
                opened.append(channel)
                if boundPort == 0 { boundPort = channel.localAddress?.port ?? 0 }
            }
            opened.append(try await makeTCPBootstrap().bind(host: host, port: boundPort).get())
            return (opened, boundPort)
        } catch {
            throw BindFailure(opened: opened, underlying: error)
        }
    }

    private func makeUDPBootstrap(_ loop: any EventLoop, forwarder: DNSForwarder?) -> DatagramBootstrap {
        let current = current
        let logger = logger
        return DatagramBootstrap(group: loop)
            .channelOption(.socketOption(.so_reuseaddr), value: 1)
            .channelOption(.socketOption(NIOBSDSocket.Option(rawValue: SO_REUSEPORT)), value: 1)
            .channelOption(.datagramVectorReadMessageCount, value: DNSUDPHandler.messagesPerRead)
            .channelOption(.maxMessagesPerRead, value: 8)
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(
                capacity: DNSUDPHandler.messagesPerRead * DNSUDPHandler.maxQuerySize))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        DNSUDPHandler(zone: current, forwarder: forwarder, logger: logger))
                }
            }
    }

    private func makeTCPBootstrap() -> ServerBootstrap {
        let current = current
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
                        DNSTCPHandler(zone: current, logger: logger),
                    ])
                }
            }
    }

    private func closeAll(_ opened: [any Channel]) async {
        for channel in opened {
            try? await channel.close()
        }
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
