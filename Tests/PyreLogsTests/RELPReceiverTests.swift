import Foundation
import PyreCore
import Testing
@testable import PyreLogs

#if canImport(Glibc)
import Glibc
#endif

/// The RELP listener over real loopback sockets: acknowledgements follow commits, and a
/// malformed frame ends only its own connection.
@Suite struct RELPReceiverTests {
    static let open = "1 open 49 relp_version=0\nrelp_software=test\ncommands=syslog\n"

    @Test func everyAcknowledgedMessageIsAlreadyStored() async throws {
        let fixture = try await ReceiverFixture()
        defer { Task { await fixture.stop() } }
        let client = try LoopbackStream(port: fixture.relpPort)
        var request = Self.open
        for number in 2...201 {
            let message = "<134>1 2026-12-01T10:00:00Z host app - - - message \(number)"
            request += "\(number) syslog \(message.utf8.count) \(message)\n"
        }
        client.send(request + "202 close 0\n")
        let answer = client.readToEnd()
        var expected = "1 rsp 56 200 OK\nrelp_version=0\nrelp_software=pyre\ncommands=syslog\n"
        for number in 2...201 { expected += "\(number) rsp 6 200 OK\n" }
        #expect(answer == expected + "202 rsp 0\n")
        // The answer came only after the commits, so no waiting: the records are there now.
        let stored = try fixture.store.query(LogQuery(limit: 1_000, order: .oldest))
        #expect(stored.map(\.message) == (2...201).map { "message \($0)" })
    }

    @Test func aMalformedFrameGetsAnErrorAndAClose() async throws {
        let fixture = try await ReceiverFixture()
        defer { Task { await fixture.stop() } }
        let client = try LoopbackStream(port: fixture.relpPort)
        client.send(Self.open + "2 syslog 5 hello\n3 syslog 5 hello!4 syslog 1 x\n")
        #expect(client.readToEnd() == "1 rsp 56 200 OK\nrelp_version=0\nrelp_software=pyre\ncommands=syslog\n2 rsp 6 200 OK\n"
                + "3 rsp 65 500 the frame does not end with a line feed after 5 bytes of data\n0 serverclose 0\n")
        // The receiver goes on serving others.
        let next = try LoopbackStream(port: fixture.relpPort)
        next.send(Self.open + "2 close 0\n")
        #expect(next.readToEnd().hasSuffix("2 rsp 0\n"))
        #expect(try fixture.store.query(LogQuery(limit: 10)).map(\.message) == ["hello"])
    }

    @Test func randomBytesNeverStopTheReceiver() async throws {
        let fixture = try await ReceiverFixture()
        defer { Task { await fixture.stop() } }
        var random = SplitMix64(seed: 5)
        let alphabet = Array("0123456789 \nsyslogopenclosersp".utf8) + [0, 255]
        for _ in 0..<100 {
            let client = try LoopbackStream(port: fixture.relpPort)
            let length = Int(random.next() % 200)
            let noise = (0..<length).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
            client.send(Self.open + String(decoding: noise, as: UTF8.self))
            client.shutdownWriting()
            _ = client.readToEnd()
        }
        let client = try LoopbackStream(port: fixture.relpPort)
        client.send(Self.open + "2 syslog 5 <13>x\n3 close 0\n")
        #expect(client.readToEnd().hasSuffix("2 rsp 6 200 OK\n3 rsp 0\n"))
    }
}
