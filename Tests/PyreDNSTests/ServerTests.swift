import Logging
import NIOCore
import Testing
@testable import PyreDNS

/// Starts a DNSServer on 127.0.0.1 with an ephemeral port and stops it afterwards.
func withTestServer(zone: DNSZone? = nil, tcpIdleTimeout: TimeAmount = .seconds(10),
                    _ body: (DNSServer, Int) async throws -> Void) async throws {
    let server = DNSServer(zone: try zone ?? TestZone.make(), logger: Logger(label: "pyre.dns.test"),
                           tcpIdleTimeout: tcpIdleTimeout)
    let port = try await server.start(host: "127.0.0.1", port: 0)
    do {
        try await body(server, port)
    } catch {
        await server.stop()
        throw error
    }
    await server.stop()
}

@Suite struct ServerTests {
    @Test func answersOverUDPAndTCPOnTheSamePort() async throws {
        try await withTestServer { _, port in
            let udp = try DNSMessage(decoding: try #require(try LoopbackClient.udp(QueryBuilder().bytes, port: port)))
            #expect(udp.answers.count == 2)
            let big = QueryBuilder(name: "big.hello.pyre.", type: DNSType.txt).bytes
            let tcp = try LoopbackClient.tcp([big], port: port)
            let reply = try DNSMessage(decoding: try #require(tcp.first ?? nil))
            #expect(reply.answers.count == 40 && !reply.isTruncated)
        }
    }

    @Test func answersPipelinedQueriesOnOneConnectionInOrder() async throws {
        try await withTestServer { _, port in
            let names = ["web.hello.pyre.", "nope.hello.pyre.", "big.hello.pyre.", "_deploy.hello.pyre."]
            let queries = names.enumerated().map { index, name in
                QueryBuilder(id: UInt16(index), name: name, type: DNSType.txt).bytes
            }
            let replies = try LoopbackClient.tcp(queries, port: port)
            var decoded: [DNSMessage] = []
            for reply in replies { decoded.append(try DNSMessage(decoding: try #require(reply))) }
            #expect(decoded.map(\.id) == [0, 1, 2, 3])
            #expect(decoded.map(\.responseCode) == [0, 3, 0, 0])
        }
    }

    @Test func closesIdleTCPConnections() async throws {
        try await withTestServer(tcpIdleTimeout: .milliseconds(200)) { _, port in
            let closed = try LoopbackClient.serverClosesIdleConnection(port: port, timeoutSeconds: 10)
            #expect(closed)
        }
    }

    @Test func servesTheNewZoneAfterUpdate() async throws {
        try await withTestServer { server, port in
            server.update(try TestZone.make(serial: 8, records: [DNSRecord(name: "web.hello.pyre.", ttl: 5, data: .a("10.7.7.7"))]))
            let reply = try DNSMessage(decoding: try #require(try LoopbackClient.udp(QueryBuilder().bytes, port: port)))
            #expect(reply.answers.map(\.data) == [.record(.a("10.7.7.7"))])
        }
    }

    @Test func listensOnSeveralAddresses() async throws {
        try await withTestServer { server, _ in
            let second = try await server.start(host: "127.0.0.1", port: 0)
            #expect(try LoopbackClient.udp(QueryBuilder().bytes, port: second) != nil)
        }
    }

    @Test func survivesMalformedInputAndKeepsAnswering() async throws {
        try await withTestServer { _, port in
            for query in [[UInt8](), [0xFF], QueryBuilder(flags: 0x8000).bytes] {
                _ = try LoopbackClient.udp(query, port: port, timeoutSeconds: 1)
            }
            let closed = try LoopbackClient.tcp([[1, 2, 3]], port: port)
            #expect(closed == [nil], "a non-query on TCP closes the connection")
            #expect(try LoopbackClient.udp(QueryBuilder().bytes, port: port) != nil)
        }
    }
}
