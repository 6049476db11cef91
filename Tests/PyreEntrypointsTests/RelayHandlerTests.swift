import Foundation
import NIOCore
import NIOEmbedded
import Testing
@testable import PyreEntrypoints

/// A relayed pair of connections on EmbeddedChannels sharing one loop: bytes cross in
/// order, a side reads only while its partner can write, and a FIN reaches the partner
/// after what was relayed before it.
@Suite struct RelayHandlerTests {
    /// Counts the reads a channel asks its socket for.
    final class ReadCounter: ChannelOutboundHandler {
        typealias OutboundIn = Any
        var reads = 0
        func read(context: ChannelHandlerContext) {
            reads += 1
            context.read()
        }
    }

    struct Pair {
        let client: EmbeddedChannel
        let server: EmbeddedChannel
        let clientReads = ReadCounter()
    }

    static func pair() throws -> Pair {
        let loop = EmbeddedEventLoop()
        let (clientSide, serverSide) = RelayHandler.pair()
        let pair = Pair(client: EmbeddedChannel(loop: loop), server: EmbeddedChannel(loop: loop))
        try pair.client.pipeline.syncOperations.addHandlers([pair.clientReads, clientSide])
        try pair.server.pipeline.syncOperations.addHandler(serverSide)
        let somewhere = try SocketAddress(ipAddress: "127.0.0.1", port: 9)
        try pair.client.connect(to: somewhere).wait()
        try pair.server.connect(to: somewhere).wait()
        return pair
    }

    static func written(_ channel: EmbeddedChannel) throws -> [String] {
        var chunks: [String] = []
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { chunks.append(String(buffer: buffer)) }
        return chunks
    }

    @Test func bytesCrossInOrderBothWays() throws {
        let pair = try Self.pair()
        try pair.client.writeInbound(ByteBuffer(string: "GET / HTTP/1.1\r\n"))
        try pair.client.writeInbound(ByteBuffer(string: "\r\n"))
        try pair.server.writeInbound(ByteBuffer(string: "HTTP/1.1 200 OK\r\n"))
        #expect(try Self.written(pair.server) == ["GET / HTTP/1.1\r\n", "\r\n"])
        #expect(try Self.written(pair.client) == ["HTTP/1.1 200 OK\r\n"])
    }

    @Test func aSideReadsOnlyWhileItsPartnerCanWrite() throws {
        let pair = try Self.pair()
        pair.server.isWritable = false
        pair.client.read()
        #expect(pair.clientReads.reads == 0, "read while the partner's buffer is full")
        pair.server.isWritable = true
        pair.server.pipeline.fireChannelWritabilityChanged()
        #expect(pair.clientReads.reads == 1, "the held read was not restarted")
        pair.client.read()
        #expect(pair.clientReads.reads == 2)
    }

    @Test func aFINReachesThePartnerAfterWhatWasRelayedBeforeIt() throws {
        let pair = try Self.pair()
        try pair.client.writeInbound(ByteBuffer(string: "last words"))
        pair.client.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        // The empty write marks the point where the partner's output is shut down.
        #expect(try Self.written(pair.server) == ["last words", ""])
        #expect(!pair.server.isActive)
    }

    @Test func aResetOnOneSideClosesTheOther() throws {
        let pair = try Self.pair()
        #expect(pair.client.isActive && pair.server.isActive)
        // What a read of a reset connection raises (NIO never raises `ChannelError.eof` as an error).
        pair.client.pipeline.fireErrorCaught(IOError(errnoCode: ECONNRESET, reason: "read(descriptor:pointer:size:)"))
        #expect(!pair.client.isActive)
        #expect(!pair.server.isActive)
    }
}
