import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PyreCore
import Synchronization

/// The syslog sink on `logs.ZONE`: UDP, and TCP with RFC 6587 framing detected per
/// connection (octet counting or LF), TLS (RFC 5425) when a certificate is configured, and
/// RELP (acknowledged once stored) when a port is given. Every message is parsed and handed to
/// the writer; nothing a sender sends can stop the receiver (see docs/logs.md, "Receiving").
public final class SyslogReceiver: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        /// The UDP and TCP port; 0 picks a free one for each.
        public var port: Int
        /// Longer messages are cut here and marked truncated.
        public var messageLimit: Int
        /// The zone of BSD timestamps, which carry none; nil reads them as UTC.
        public var bsdTimeZone: TimeZone?
        /// Also listen for syslog over TLS.
        public var tls: SyslogTLSConfiguration?
        /// Also listen for RELP on this port (0 picks a free one).
        public var relpPort: Int?

        public init(host: String, port: Int, messageLimit: Int = SyslogParser.defaultLimit, bsdTimeZone: TimeZone? = nil,
                    tls: SyslogTLSConfiguration? = nil, relpPort: Int? = nil) {
            self.host = host
            self.port = port
            self.messageLimit = messageLimit
            self.bsdTimeZone = bsdTimeZone
            self.tls = tls
            self.relpPort = relpPort
        }
    }

    /// Where the listeners are bound.
    public struct Addresses: Sendable {
        public var udp: SocketAddress
        public var tcp: SocketAddress
        public var tls: SocketAddress?
        public var relp: SocketAddress?
    }

    /// Which server sent from an address, so its records carry service, server and generation.
    public typealias OriginLookup = @Sendable (String) -> LogOrigin?

    public let configuration: Configuration
    private let writer: LogWriter
    private let origin: OriginLookup
    private let logger: Logger
    private let channels = Mutex<[any Channel]>([])

    public init(configuration: Configuration, writer: LogWriter, origin: @escaping OriginLookup = { _ in nil }, logger: Logger) {
        self.configuration = configuration
        self.writer = writer
        self.origin = origin
        self.logger = logger
    }

    /// Binds the listeners and returns their addresses.
    @discardableResult
    public func start() async throws -> Addresses {
        let group = MultiThreadedEventLoopGroup.singleton
        let inbound = Inbound(configuration: configuration, writer: writer, origin: origin)
        // Read before anything binds: a bad certificate fails the start with nothing left open.
        let tlsContext = try configuration.tls?.makeContext()
        let tcp = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_rcvbuf), value: Backpressure.streamReceiveBuffer)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(SyslogStreamHandler(inbound: inbound, transport: .tcp))
                }
            }
            .bind(host: configuration.host, port: configuration.port).get()
        let udp: any Channel
        do {
            udp = try await DatagramBootstrap(group: group)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                // A burst of datagrams waits in the kernel rather than being lost.
                .channelOption(.socketOption(.so_rcvbuf), value: 16 << 20)
                .channelOption(.datagramVectorReadMessageCount, value: 64)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 64 * (configuration.messageLimit + 1)))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(SyslogDatagramHandler(inbound: inbound))
                    }
                }
                .bind(host: configuration.host, port: configuration.port).get()
        } catch {
            try? await tcp.close()
            throw error
        }
        // As root, a larger buffer than net.core.rmem_max allows (as rsyslog's imudp does).
        let forceReceiveBuffer = ChannelOptions.Types.SocketOption(level: .socket, name: .init(rawValue: SO_RCVBUFFORCE))
        try? await udp.setOption(forceReceiveBuffer, value: 16 << 20).get()
        var tls: (any Channel)?
        if let tlsContext, let port = configuration.tls?.port {
            do {
                tls = try await ServerBootstrap(group: group)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelOption(.socketOption(.so_rcvbuf), value: Backpressure.streamReceiveBuffer)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tlsContext))
                            try channel.pipeline.syncOperations.addHandler(SyslogStreamHandler(inbound: inbound, transport: .tls))
                        }
                    }
                    .bind(host: configuration.tls?.host ?? configuration.host, port: port).get()
            } catch {
                try? await tcp.close()
                try? await udp.close()
                throw error
            }
        }
        var relp: (any Channel)?
        if let port = configuration.relpPort {
            do {
                relp = try await Self.bindRELP(host: configuration.host, port: port, inbound: inbound)
            } catch {
                for channel in [tcp, udp] + (tls.map { [$0] } ?? []) { try? await channel.close() }
                throw error
            }
        }
        channels.withLock { $0 = [tcp, udp] + [tls, relp].compactMap { $0 } }
        let tlsNote = configuration.tls.map { ", TLS on \($0.host.map { "\($0):" } ?? "port ")\($0.port)" } ?? ""
        let relpNote = relp?.localAddress?.port.map { ", RELP on port \($0)" } ?? ""
        logger.info("syslog receiver on \(configuration.host):\(configuration.port) (UDP and TCP\(tlsNote)\(relpNote))")
        return Addresses(udp: udp.localAddress!, tcp: tcp.localAddress!, tls: tls?.localAddress, relp: relp?.localAddress)
    }

    private static func bindRELP(host: String, port: Int, inbound: Inbound) async throws -> any Channel {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_rcvbuf), value: Backpressure.streamReceiveBuffer)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RELPFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(RELPHandler(inbound: inbound))
                }
            }
            .bind(host: host, port: port).get()
    }

    /// Closes the listeners; records already handed over are committed by the writer.
    public func stop() async {
        for channel in channels.withLock({ channels in defer { channels = [] }; return channels }) {
            try? await channel.close()
        }
    }
}

/// What the channel handlers share: parsing, attribution and the writer.
struct Inbound: Sendable {
    let configuration: SyslogReceiver.Configuration
    let writer: LogWriter
    let origin: SyslogReceiver.OriginLookup

    func record(_ bytes: UnsafeRawBufferPointer, truncated: Bool, from address: String?) -> LogRecord {
        let parsed = SyslogParser.parse(bytes, receivedAt: Date(), limit: configuration.messageLimit, truncated: truncated,
                                        bsdTimeZone: configuration.bsdTimeZone)
        return LogRecord(parsed, origin: address.flatMap(origin))
    }
}

/// One UDP datagram is one message. Records of one read burst go to the writer together.
final class SyslogDatagramHandler: ChannelInboundHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>

    private let inbound: Inbound
    private var batch: [LogRecord] = []

    init(inbound: Inbound) { self.inbound = inbound }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = unwrapInboundIn(data)
        let record = envelope.data.withUnsafeReadableBytes {
            inbound.record($0, truncated: false, from: envelope.remoteAddress.ipAddress)
        }
        batch.append(record)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // UDP has no way to slow a sender: while the writer is busy datagrams wait in the
        // socket's buffer, and a burst arriving at a full backlog is lost and counted.
        _ = inbound.writer.offer(batch, from: .udp)
        batch.removeAll(keepingCapacity: true)
        Backpressure.pauseWhileBusy(context.channel, writer: inbound.writer)
    }
}

/// A TCP connection: the framer cuts messages out of the stream. While the writer is busy
/// the connection stops reading, so the kernel's window slows the sender instead of records
/// piling up in memory.
final class SyslogStreamHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let inbound: Inbound
    /// TCP or TLS (the TLS handler sits before this one).
    private let transport: LogTransport
    private var framer: SyslogFramer
    private var batch: [LogRecord] = []
    private var peer: String?

    init(inbound: Inbound, transport: LogTransport) {
        self.inbound = inbound
        self.transport = transport
        framer = SyslogFramer(limit: inbound.configuration.messageLimit)
    }

    func channelActive(context: ChannelHandlerContext) {
        peer = context.remoteAddress?.ipAddress
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { bytes in
            framer.feed(bytes) { frame in
                batch.append(frame.bytes.withUnsafeBytes { inbound.record($0, truncated: frame.truncated, from: peer) })
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
        Backpressure.pauseWhileBusy(context.channel, writer: inbound.writer)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let last = framer.finish() {
            batch.append(last.bytes.withUnsafeBytes { inbound.record($0, truncated: last.truncated, from: peer) })
        }
        flush()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A reset connection ends like a closed one; what it framed so far is kept.
        context.close(promise: nil)
    }

    private func flush() {
        guard !batch.isEmpty else { return }
        inbound.writer.submit(batch, from: transport)
        batch.removeAll(keepingCapacity: true)
    }
}
