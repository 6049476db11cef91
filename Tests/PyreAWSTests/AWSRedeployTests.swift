import Foundation
import Logging
import PyreCore
import PyreTesting
import Testing
@testable import PyreAWS

/// The provider and Route 53 together, as a deploy uses them, on moto: three servers from
/// one AMI, then a redeploy from a new AMI.
@Suite struct AWSRedeployTests {
    @Test func redeployWithANewAMIReplacesServersAndRecordsInOneChange() async throws {
        let moto = try await MotoServer.shared()
        let calls = Recorder<[String]>([])
        var logger = Logger(label: "test") { _ in CapturingLogHandler(lines: calls) }
        logger.logLevel = .debug
        let client = AWSClient(configuration: moto.configuration(), logger: logger)
        let ec2 = EC2Client(client: client)
        let route53 = Route53Client(client: client)
        let amis = try await EC2ClientTests.amazonAMIs(ec2)
        let (oldImage, newImage) = (ImageDigest("sha256:" + String(repeating: "1", count: 64)),
                                    ImageDigest("sha256:" + String(repeating: "2", count: 64)))
        let system = EC2ClientTests.uniqueName("redeploy")
        let provider = EC2ServerProvider(ec2: ec2, configuration: .init(system: system,
                                                                         amis: [oldImage: amis[0], newImage: amis[1]]))
        let zoneName = "\(system).pyre.test."
        let zone = try await route53.ensureHostedZone(zoneName, callerReference: system)

        func deploy(generation: Int, image: ImageDigest) async throws -> [ServerInfo] {
            var servers: [ServerInfo] = []
            for _ in 0..<3 {
                let spec = EC2ServerProviderTests.spec(.make(service: "web", generation: generation), system: system,
                                                       image: image)
                servers.append(try await provider.create(spec))
            }
            return servers
        }
        func records(_ servers: [ServerInfo]) -> [Route53RecordSet] {
            [Route53RecordSet(name: "web.\(zoneName)", type: "A", ttl: 5, values: servers.map(\.address))]
                + servers.map { Route53RecordSet(name: "\($0.id.rawValue).\(zoneName)", type: "A", ttl: 5, values: [$0.address]) }
        }
        func changeCalls() -> Int {
            calls.value.filter { $0.contains("AWS call") && $0.contains("ChangeResourceRecordSets") }.count
        }

        let old = try await deploy(generation: 1, image: oldImage)
        try await route53.publish(zoneID: zone, records(old))

        let new = try await deploy(generation: 2, image: newImage)
        let before = changeCalls()
        try await route53.publish(zoneID: zone, records(new))
        #expect(changeCalls() == before + 1, "the records are replaced in one change")
        for server in old { try await provider.destroy(server.id) }

        let live = try await provider.list()
        #expect(Set(live.map(\.id)) == Set(new.map(\.id)))
        #expect(live.allSatisfy { $0.image == newImage && $0.generation == 2 && $0.state == .running })
        let gone = try await ec2.describeInstances(filters: ["tag:pyre:system": [system], "tag:pyre:generation": ["1"]])
        #expect(gone.count == 3 && gone.allSatisfy { ["shutting-down", "terminated"].contains($0.state) })
        let held = try await route53.listRecordSets(zoneID: zone).filter { $0.type == "A" }
        #expect(held.sorted { $0.name < $1.name } == records(new).sorted { $0.name < $1.name })
    }
}
