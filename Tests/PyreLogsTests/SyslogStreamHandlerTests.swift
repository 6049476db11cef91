import Foundation
import Logging
import NIOCore
import NIOEmbedded
import PyreTesting
import Testing
@testable import PyreLogs

/// A syslog TCP connection on an EmbeddedChannel: frames split anywhere are cut out whole,
/// attributed to the sending server, stored in order, and the unterminated last one is kept
/// when the peer closes.
@Suite struct SyslogStreamHandlerTests {
    @Test func framesSplitAnywhereAreStoredInOrderAndAttributedToTheSender() async throws {
        let directory = try TemporaryDirectory(prefix: "pyre-logs")
        defer { directory.remove() }
        let store = try LogStore(configuration: .init(directory: directory.url))
        let writer = LogWriter(store: store, logger: Logger(label: "test"))
        writer.start()
        let sender = try SocketAddress(ipAddress: "10.213.5.7", port: 40_000)
        let inbound = Inbound(configuration: .init(host: "127.0.0.1", port: 0), writer: writer, origin: { address in
            address == "10.213.5.7" ? LogOrigin(service: "web", server: "web-3-ab12", generation: 3) : nil
        })
        let channel = EmbeddedChannel(handler: SyslogStreamHandler(inbound: inbound, transport: .tcp))
        try await channel.connect(to: sender).get()

        let counted = "<13>1 2026-12-01T10:00:00Z host app - - - first"
        let stream = "\(counted.utf8.count) \(counted)<14>Dec  1 10:00:01 host app: second\n<11>Dec  1 10:00:02 host app: third"
        let bytes = Array(stream.utf8)
        // Cut at awkward places: inside the octet count, the header and the message.
        for piece in [bytes[..<1], bytes[1..<9], bytes[9..<60], bytes[60...]] {
            try channel.writeInbound(ByteBuffer(bytes: Array(piece)))
        }
        _ = try await channel.close()
        writer.stop()

        let records = try store.query(LogQuery(limit: 10))
        #expect(records.map(\.message) == ["first", "second", "third"])
        #expect(records.map(\.severity) == [.notice, .info, .err])
        #expect(records.allSatisfy { $0.server == "web-3-ab12" && $0.service == "web" && $0.generation == 3 })
        store.close()
    }
}
