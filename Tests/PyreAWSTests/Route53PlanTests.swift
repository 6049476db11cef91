import Logging
import PyreTesting
import Testing
@testable import PyreAWS

@Suite struct Route53PlanTests {
    let soa = Route53RecordSet(name: "g.pyre.test.", type: "SOA", ttl: 900, values: ["ns. admin. 1 7200 900 1209600 86400"])
    let ns = Route53RecordSet(name: "g.pyre.test.", type: "NS", ttl: 172800, values: ["ns-1.awsdns."])

    @Test func upsertsWhatChangedAndDeletesWhatLeftInOneList() {
        let service = Route53RecordSet(name: "web.g.pyre.test.", type: "A", ttl: 5, values: ["10.0.0.1", "10.0.0.2"])
        let kept = Route53RecordSet(name: "_web._tcp.g.pyre.test.", type: "SRV", ttl: 5, values: ["0 0 8080 web.g.pyre.test."])
        let leaving = Route53RecordSet(name: "web-1-aaaa.g.pyre.test.", type: "A", ttl: 5, values: ["10.0.0.1"])
        let current = [soa, ns, service, kept, leaving]

        let newService = Route53RecordSet(name: "WEB.g.pyre.test", type: "A", ttl: 5, values: ["10.0.0.3"])
        let arriving = Route53RecordSet(name: "web-2-bbbb.g.pyre.test", type: "A", ttl: 5, values: ["10.0.0.3"])
        let changes = Route53Plan.changes(current: current, desired: [newService, kept, arriving])
        #expect(changes == [.init(.upsert, newService), .init(.upsert, arriving), .init(.delete, leaving)])
    }

    @Test func sameRecordsInAnotherOrderNeedNoChange() {
        let current = [soa, ns, Route53RecordSet(name: "web.g.pyre.test.", type: "A", ttl: 5, values: ["10.0.0.1", "10.0.0.2"])]
        let desired = [Route53RecordSet(name: "web.g.pyre.test", type: "A", ttl: 5, values: ["10.0.0.2", "10.0.0.1"])]
        #expect(Route53Plan.changes(current: current, desired: desired).isEmpty)
    }

    @Test func aChangedTTLIsAnUpsert() {
        let current = [Route53RecordSet(name: "web.g.pyre.test.", type: "A", ttl: 60, values: ["10.0.0.1"])]
        let desired = [Route53RecordSet(name: "web.g.pyre.test.", type: "A", ttl: 5, values: ["10.0.0.1"])]
        #expect(Route53Plan.changes(current: current, desired: desired) == [.init(.upsert, desired[0])])
    }

    @Test func publishReplacesAGenerationInOneChangeOnMoto() async throws {
        let route53 = Route53ClientTests.client(try await MotoServer.shared())
        let name = Route53ClientTests.uniqueZone()
        let zone = try await route53.ensureHostedZone(name, callerReference: name)
        let first = ["10.0.1.1", "10.0.1.2", "10.0.1.3"]
        let second = ["10.0.2.1", "10.0.2.2", "10.0.2.3"]
        func records(_ generation: Int, _ addresses: [String]) -> [Route53RecordSet] {
            [Route53RecordSet(name: "web.\(name)", type: "A", ttl: 5, values: addresses)]
                + addresses.enumerated().map { index, address in
                    Route53RecordSet(name: "web-\(generation)-\(index).\(name)", type: "A", ttl: 5, values: [address])
                }
        }
        #expect(try await route53.publish(zoneID: zone, records(1, first)) != nil)
        #expect(try await route53.publish(zoneID: zone, records(1, first)) == nil, "nothing changed, so no call")
        #expect(try await route53.publish(zoneID: zone, records(2, second)) != nil)

        let held = try await route53.listRecordSets(zoneID: zone).filter { $0.type == "A" }
        #expect(held.sorted { $0.name < $1.name } == records(2, second).sorted { $0.name < $1.name })
    }
}
