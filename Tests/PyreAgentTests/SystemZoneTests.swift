import Foundation
import PyreCore
import PyreDNS
import Testing
@testable import PyreAgent

@Suite struct SystemZoneTests {
    private func server(_ id: String, _ address: String, service: String = "web") -> ServerInfo {
        ServerInfo(id: ServerID(id), service: service, generation: 2, image: ImageDigest("sha256:" + String(repeating: "a", count: 64)),
                   configHash: "h", address: address, port: 8080, createdAt: Date(), state: .running)
    }

    private func zone(published: Set<ServerID>, staticRecords: [StaticDNSRecord] = []) -> SystemZone {
        SystemZone(zone: "shop.pyre.", ttl: 5, systemAddress: "10.213.7.1",
                   servers: [server("web-2-bbbb", "10.213.7.3"), server("web-2-aaaa", "10.213.7.2")],
                   published: published, deployment: 4, staticRecords: staticRecords)
    }

    @Test func onlyPublishedServersAnswerForTheirService() {
        let records = zone(published: [ServerID("web-2-aaaa")]).records()
        let service = records.filter { $0.name == "web.shop.pyre." }
        #expect(service.map(\.data) == [.a("10.213.7.2")])
        #expect(records.filter { $0.name == "_web._tcp.shop.pyre." }.map(\.data)
                    == [.srv(priority: 0, weight: 1, port: 8080, target: "web-2-aaaa.shop.pyre.")])
        // Every live server has its own name, published or not.
        #expect(records.contains(DNSRecord(name: "web-2-bbbb.shop.pyre.", ttl: 5, data: .a("10.213.7.3"))))
        #expect(records.contains(DNSRecord(name: "_deploy.shop.pyre.", ttl: 5, data: .txt(["deployment=4"]))))
        for name in ["dns", "events", "logs"] {
            #expect(records.contains(DNSRecord(name: "\(name).shop.pyre.", ttl: 5, data: .a("10.213.7.1"))))
        }
    }

    @Test func declaredRecordsKeepTheirOwnTTL() throws {
        let declared = [StaticDNSRecord(name: "db.shop.pyre.", ttl: .seconds(60), value: .a("192.0.2.10")),
                        StaticDNSRecord(name: "shop.pyre.", value: .mx(preference: 10, exchange: "mail.example.com."))]
        let records = zone(published: [], staticRecords: declared).records()
        #expect(records.contains(DNSRecord(name: "db.shop.pyre.", ttl: 60, data: .a("192.0.2.10"))))
        #expect(records.contains(DNSRecord(name: "shop.pyre.", ttl: 5, data: .mx(preference: 10, exchange: "mail.example.com."))))
        #expect(!records.contains { $0.name == "web.shop.pyre." }, "no server published, no service address")
        let snapshot = try zone(published: [], staticRecords: declared).snapshot(serial: 7)
        #expect(snapshot.serial == 7)
        #expect(snapshot.zoneFileText().contains("mail.example.com."))
    }
}

@Suite struct UpstreamResolverTests {
    @Test func hostResolversComeFromResolvConf() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("resolv-\(UUID().uuidString).conf")
        defer { try? FileManager.default.removeItem(at: file) }
        try "# comment\nsearch example.com\nnameserver 127.0.0.53\nnameserver ::1\noptions edns0\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let found = IdentityLayer.upstreamResolvers(environment: [:], resolvConf: file.path)
        #expect(found.map(\.description) == ["[IPv4]127.0.0.53:53", "[IPv6]::1:53"])
    }

    @Test func environmentOverridesOrTurnsForwardingOff() {
        #expect(IdentityLayer.upstreamResolvers(environment: ["PYRE_DNS_UPSTREAM": "none"]).isEmpty)
        let configured = IdentityLayer.upstreamResolvers(environment: ["PYRE_DNS_UPSTREAM": "127.0.0.1:5399,127.0.0.2"])
        #expect(configured.map(\.port) == [5399, 53])
    }
}
