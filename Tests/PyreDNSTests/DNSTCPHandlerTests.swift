import Logging
import NIOCore
import NIOEmbedded
import Testing
@testable import PyreDNS

/// The TCP pipeline (length framing, then the handler) on an EmbeddedChannel: what arrives
/// in any split is answered in order, and what is not a query ends the connection.
@Suite struct DNSTCPHandlerTests {
    static func channel(counts: DNSQueryCounts = DNSQueryCounts()) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandlers([
            ByteToMessageHandler(DNSTCPFrameDecoder()),
            DNSTCPHandler(zone: CurrentZone(try TestZone.make()), counts: counts, logger: Logger(label: "test")),
        ])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 53)).wait()
        return channel
    }

    static func framed(_ message: [UInt8]) -> [UInt8] {
        [UInt8(message.count >> 8), UInt8(message.count & 0xff)] + message
    }

    /// Every reply written so far, each without its length prefix (which must be right).
    static func replies(_ channel: EmbeddedChannel) throws -> [DNSMessage] {
        var stream = ByteBuffer()
        while var chunk = try channel.readOutbound(as: ByteBuffer.self) { stream.writeBuffer(&chunk) }
        var messages: [DNSMessage] = []
        while let length = stream.readInteger(as: UInt16.self) {
            let body = stream.readBytes(length: Int(length))
            try #require(body != nil, "a reply shorter than its length prefix")
            messages.append(try DNSMessage(decoding: body!))
        }
        #expect(stream.readableBytes == 0)
        return messages
    }

    @Test func pipelinedQueriesArrivingByteByByteAreAnsweredInOrder() throws {
        let channel = try Self.channel()
        var first = QueryBuilder()
        first.id = 1
        var second = QueryBuilder()
        second.id = 2
        second.name = "web-1-ab12.hello.pyre."
        for byte in Self.framed(first.bytes) + Self.framed(second.bytes) {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
        }
        let replies = try Self.replies(channel)
        #expect(replies.map(\.id) == [1, 2])
        #expect(replies.map(\.answers.count) == [2, 1])
        #expect(replies.allSatisfy { $0.isResponse && $0.isAuthoritative })
        #expect(channel.isActive)
        _ = try channel.finish()
    }

    @Test func repliesAreCountedByResponseCode() throws {
        let counts = DNSQueryCounts()
        let channel = try Self.channel(counts: counts)
        var bytes: [UInt8] = []
        for name in ["web.hello.pyre.", "web-1-ab12.hello.pyre.", "missing.hello.pyre.", "example.com."] {
            var query = QueryBuilder()
            query.name = name
            bytes += Self.framed(query.bytes)
        }
        try channel.writeInbound(ByteBuffer(bytes: bytes))
        #expect(try Self.replies(channel).map { $0.flags & 0xF } == [0, 0, 3, 5])
        #expect(counts.answeredQueries.map { "\($0.transport.name) \($0.rcode) \($0.queries)" }
            == ["tcp NOERROR 2", "tcp NXDOMAIN 1", "tcp REFUSED 1"])
        _ = try channel.finish()
    }

    @Test func twoQueriesInOneSegmentGetTwoReplies() throws {
        let channel = try Self.channel()
        var query = QueryBuilder()
        query.id = 7
        try channel.writeInbound(ByteBuffer(bytes: Self.framed(query.bytes) + Self.framed(query.bytes)))
        #expect(try Self.replies(channel).map(\.id) == [7, 7])
        _ = try channel.finish()
    }

    @Test func aMessageThatIsNotAQueryClosesTheConnection() throws {
        let channel = try Self.channel()
        #expect(channel.isActive)
        var response = QueryBuilder()
        response.flags = 0x8000
        try channel.writeInbound(ByteBuffer(bytes: Self.framed(response.bytes)))
        #expect(try Self.replies(channel).isEmpty)
        #expect(!channel.isActive)
    }

    @Test func anIdleConnectionIsClosed() throws {
        let channel = try Self.channel()
        #expect(channel.isActive)
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.read)
        #expect(!channel.isActive)
    }

    /// A peer that sends half a message and goes away leaves no reply and no error behind.
    @Test func aMessageCutShortIsDropped() throws {
        let channel = try Self.channel()
        let query = Self.framed(QueryBuilder().bytes)
        try channel.writeInbound(ByteBuffer(bytes: query.prefix(query.count - 3)))
        #expect(try Self.replies(channel).isEmpty)
        #expect(try channel.finish().isClean)
    }
}
