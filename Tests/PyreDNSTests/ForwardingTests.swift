import PyreTesting
import Foundation
import Logging
import NIOCore
import Testing
@testable import PyreDNS

/// A listener with upstreams answers its own zone itself and relays the rest: here to NSD
/// on loopback, serving a zone of its own.
@Suite(.enabled(if: ExternalTool.path("nsd") != nil && ExternalTool.path("dig") != nil,
                "nsd and dig are needed (apt-get install nsd bind9-dnsutils)"))
struct ForwardingTests {
    @Test func namesOutsideTheZoneAreRelayedUpstream() async throws {
        let elsewhere = try DNSZone(apex: "example.test.", serial: 1, nameServer: "ns.example.test.",
                                    hostmaster: "hostmaster.example.test.", records: [
                                        DNSRecord(name: "ns.example.test.", ttl: 60, data: .a("192.0.2.53")),
                                        DNSRecord(name: "www.example.test.", ttl: 60, data: .a("192.0.2.80")),
                                    ])
        let upstream = try await NSDInstance.start(elsewhere)
        defer { upstream.stop() }
        let server = DNSServer(zone: try TestZone.make(), logger: Logger(label: "pyre.dns.test"))
        let port = try await server.start(host: "127.0.0.1", port: 0, forwardingOutsideZoneTo: [
            try SocketAddress(ipAddress: "127.0.0.1", port: upstream.port),
        ])
        let replies = Result { try ["www.example.test.", "nope.example.test.", "www.hello.pyre."].map { try dig(port: port, [$0, "A"]) } }
        await server.stop()
        let (relayed, missing, own) = try replies.map { ($0[0], $0[1], $0[2]) }.get()
        #expect(relayed.status == "NOERROR", "\(relayed.output)")
        #expect(relayed.answers.map { $0.last } == ["192.0.2.80"], "\(relayed.output)")
        #expect(missing.status == "NXDOMAIN", "the upstream's own answer: \(missing.output)")
        #expect(own.status == "NOERROR" && own.flags.contains("aa"), "the zone is answered here: \(own.output)")
        #expect(server.counts.relayedQueries == 2)
        #expect(server.counts.answeredQueries.map { "\($0.transport.name) \($0.rcode) \($0.queries)" } == ["udp NOERROR 1"],
                "a relayed query is counted as relayed, not by the code this server would have answered")
    }

    @Test func withoutUpstreamsOutsideNamesAreRefused() async throws {
        try await withTestServer { _, port in
            let reply = try dig(port: port, ["www.example.test.", "A"])
            #expect(reply.status == "REFUSED" && !reply.flags.contains("aa"), "\(reply.output)")
        }
    }
}
