import Foundation
import Logging
import PyreCore
import PyreTesting
import Testing
@testable import PyreAWS

/// Route 53 calls against a real moto_server with authentication on. Tests share the server,
/// so each works in a zone of its own.
@Suite struct Route53ClientTests {
    static func client(_ moto: MotoServer) -> Route53Client {
        Route53Client(client: AWSClient(configuration: moto.configuration(), logger: Logger(label: "test")),
                      sleep: { _ in Issue.record("moto's changes are INSYNC at once; nothing should wait") })
    }

    static func uniqueZone() -> String {
        "z\(UUID().uuidString.prefix(8).lowercased()).pyre.test"
    }

    @Test func hostedZoneIsCreatedOnceThenFound() async throws {
        let route53 = Self.client(try await MotoServer.shared())
        let name = Self.uniqueZone()
        #expect(try await route53.findHostedZone(name) == nil)
        let created = try await route53.ensureHostedZone(name, callerReference: "\(name)-1")
        #expect(!created.contains("/"))
        let again = try await route53.ensureHostedZone(name + ".", callerReference: "\(name)-2")
        #expect(again == created)
        #expect(try await route53.findHostedZone("other-" + name) == nil)
    }

    /// Creations that race (or one retried after its answer was lost) can leave several
    /// zones of one name on moto; every caller must still get the same one.
    @Test func racingEnsuresSettleOnOneZone() async throws {
        let route53 = Self.client(try await MotoServer.shared())
        let name = Self.uniqueZone()
        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for attempt in 1...6 {
                group.addTask { try await route53.ensureHostedZone(name, callerReference: "\(name)-\(attempt)") }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(ids.count == 1)
        #expect(try await route53.findHostedZone(name) == ids.first)
    }

    @Test func oneBatchReplacesRecordsAndTheChangeGetsInSync() async throws {
        let route53 = Self.client(try await MotoServer.shared())
        let name = Self.uniqueZone()
        let zone = try await route53.ensureHostedZone(name, callerReference: name)
        let old = Route53RecordSet(name: "web.\(name)", type: "A", ttl: 5, values: ["10.0.0.1", "10.0.0.2"])
        let server = Route53RecordSet(name: "web-1-ab12.\(name)", type: "A", ttl: 5, values: ["10.0.0.1"])
        let first = try await route53.changeRecordSets(zoneID: zone, [.init(.upsert, old), .init(.upsert, server)],
                                                       comment: "deploy 1 <web>")
        try await route53.waitUntilInSync(changeID: first.id)

        let new = Route53RecordSet(name: "web.\(name)", type: "A", ttl: 5, values: ["10.0.0.3"])
        let second = try await route53.changeRecordSets(zoneID: zone, [.init(.upsert, new), .init(.delete, server)])
        try await route53.waitUntilInSync(changeID: second.id)

        let sets = try await route53.listRecordSets(zoneID: zone).filter { $0.type == "A" }
        #expect(sets == [new])
    }

    @Test func txtStringsEscapeQuotesBackslashesAndEveryByteOutsidePrintableASCII() {
        #expect(Route53RecordSet.txtValue(["v=spf1 -all"]) == #""v=spf1 -all""#)
        #expect(Route53RecordSet.txtValue(["say \"hi\"", #"a\b"#]) == #""say \"hi\"" "a\\b""#)
        // é is C3 A9 in UTF-8; a tab and DEL are outside printable ASCII too.
        #expect(Route53RecordSet.txtValue(["café\t\u{7F}~ "]) == #""caf\303\251\011\177~ ""#)
        #expect(Route53RecordSet.txtValue([""]) == #""""#)
    }

    /// Static TXT records from pyre.yml reach the zone as Route 53 stores them.
    @Test func staticTXTRecordsAreStoredEscaped() async throws {
        let moto = try await MotoServer.shared()
        let name = Self.uniqueZone()
        let publisher = Route53Publisher(route53: Self.client(moto), zone: name, ttl: 5, logger: Logger(label: "test"))
        await publisher.setStaticRecords([StaticDNSRecord(name: "note.\(name).", value: .txt(["née \"x\"", "plain"]))],
                                         defaultTTL: .seconds(60))
        let zone = try await publisher.hostedZone()
        let txt = try await Self.client(moto).listRecordSets(zoneID: zone).filter { $0.type == "TXT" }
        #expect(txt.map(\.values) == [[#""n\303\251e \"x\"" "plain""#]])
    }

    /// The system's zone is private to its servers' VPC: created associated with it, found
    /// again through the VPC, and holding what is published.
    @Test func thePrivateZoneIsAssociatedWithTheServersVPCAndHoldsTheRecords() async throws {
        let moto = try await MotoServer.shared()
        let client = AWSClient(configuration: moto.configuration(), logger: Logger(label: "test"))
        let vpcID = try await EC2Client(client: client).systemVPC(vpc: nil, subnet: nil)
        #expect(vpcID.hasPrefix("vpc-"))
        let vpc = Route53Client.VPC(id: vpcID, region: moto.region)
        let name = Self.uniqueZone()
        let publisher = Route53Publisher(route53: Self.client(moto), zone: name, ttl: 5, logger: Logger(label: "test"),
                                         privateTo: { vpc })
        let server = ServerInfo(id: ServerID("web-1-ab12"), service: "web", generation: 1,
                                image: ImageDigest("sha256:" + String(repeating: "1", count: 64)), configHash: "c",
                                address: "10.0.0.7", port: 8080, createdAt: Date(), state: .running)
        await publisher.update(publishing: [server], unpublishing: [])
        let zone = try await publisher.hostedZone()
        let route53 = Self.client(moto)
        #expect(try await route53.associatedVPCs(zoneID: zone) == [vpc])
        #expect(try await route53.findPrivateHostedZone(name, in: vpc) == zone)
        #expect(try await route53.findPrivateHostedZone(name, in: .init(id: "vpc-0other", region: moto.region)) == nil)
        #expect(try await route53.ensureHostedZone(name, callerReference: "again-\(name)", privateTo: vpc) == zone)
        let records = try await route53.listRecordSets(zoneID: zone).filter { $0.type == "A" }
        #expect(records.map(\.name).sorted() == ["web-1-ab12.\(name).", "web.\(name)."])
        #expect(await publisher.outOfSync == false)
    }

    @Test func aBadBatchIsARoute53Error() async throws {
        let route53 = Self.client(try await MotoServer.shared())
        let name = Self.uniqueZone()
        let zone = try await route53.ensureHostedZone(name, callerReference: name)
        let missing = Route53RecordSet(name: "gone.\(name)", type: "A", ttl: 5, values: ["10.0.0.9"])
        let error = await #expect(throws: AWSError.self) {
            try await route53.changeRecordSets(zoneID: zone, [.init(.delete, missing)])
        }
        // Route 53 calls this InvalidChangeBatch; moto, InvalidInput. Either way it is parsed, not a bare status.
        #expect(["InvalidChangeBatch", "InvalidInput"].contains(error?.code ?? ""))
        #expect(error?.message.isEmpty == false)
        #expect(error?.httpStatus == 400)
        #expect(error?.operation == "Route 53 ChangeResourceRecordSets")
    }

    @Test func wrongSecretKeyOnAGetIsRejected() async throws {
        let moto = try await MotoServer.shared()
        var wrong = moto.configuration()
        wrong.credentials?.secretAccessKey = "not-the-secret-key"
        let route53 = Route53Client(client: AWSClient(configuration: wrong, logger: Logger(label: "test")))
        let error = await #expect(throws: AWSError.self) {
            try await route53.findHostedZone(Self.uniqueZone())
        }
        #expect(error?.httpStatus == 403)
        #expect(error?.code == "SignatureDoesNotMatch")
        #expect(error?.description.contains("Check the AWS credentials") == true)
        #expect(error?.description.contains("not-the-secret-key") == false)
    }
}
