import Foundation
import Logging
import PyreAWS
import PyreAPI
import PyreAgent
import PyreCore
import PyreTesting
import Testing

/// `provider: aws` end to end through the real CLI, against moto: `pyre bake` tags the AMI,
/// `pyre up` starts three instances and publishes them in Route 53, an instance terminated
/// behind Pyre's back is replaced, a changed image is refused until it is baked, and the
/// redeploy replaces every instance and record.
@Suite(.serialized)
struct AWSDeployTests {
    @Test func bakeDeployRedeployAndStopOnMoto() async throws {
        let moto = try await MotoServer.shared()
        let client = AWSClient(configuration: moto.configuration(), logger: Logger(label: "test"))
        let ec2 = EC2Client(client: client)
        let route53 = Route53Client(client: client)
        // Other suites share moto and tag the first AMIs; these are this test's own.
        let amis = try await moto.amazonAMIs()
        try #require(amis.count >= 8)
        let (firstAMI, secondAMI) = (amis[6], amis[7])

        let system = try TestSystem(name: "aws\(UUID().uuidString.prefix(6).lowercased())",
                                    extra: """
                                        provider: aws
                                        aws: { health: instance, instance_type: t3.nano }
                                        dns: { records: [{ name: db, type: A, value: 192.0.2.10 }, { name: "@", type: MX, value: "10 mail.example.com." }] }
                                        """,
                                    image: "ami: { us-east-1: \(firstAMI) }")
        defer { system.cleanUp() }
        let environment = moto.environment
        let bake = try await pyre(["bake", system.directory.path], environment: environment)
        #expect(bake.status == 0, "\(bake.output)")
        #expect(bake.output.contains("\(firstAMI)  tagged pyre:image=sha256:"), "\(bake.output)")

        let agent = try AgentProcess(system, isolation: "process", environment: environment)
        defer { agent.terminate() }
        let launched = try await agent.waitForHealthy(count: 3)
        #expect(launched.allSatisfy { $0.id.hasPrefix("i-") }, "servers are named by their instance ids")
        let status = try await pyre(["status", system.directory.path], environment: environment)
        #expect(launched.allSatisfy { status.output.contains($0.id) }, "\(status.output)")

        // Self-healing: an instance terminated behind Pyre's back is replaced.
        try await ec2.terminateInstances([launched[0].id])
        let first = try await agent.waitForHealthy(count: 3, excluding: [launched[0].id])
        let zone = try #require(try await route53.findHostedZone("\(system.name).pyre."))
        // Private to the servers' VPC (here the region's default, as no subnet is named).
        let vpc = try await ec2.systemVPC(vpc: nil, subnet: nil)
        #expect(try await route53.associatedVPCs(zoneID: zone) == [Route53Client.VPC(id: vpc, region: moto.region)])
        func webAddresses() async throws -> [String] {
            try await route53.listRecordSets(zoneID: zone).first { $0.name == "web.\(system.name).pyre." && $0.type == "A" }?
                .values.sorted() ?? []
        }
        #expect(try await webAddresses() == first.map(\.address).sorted())
        let sets = try await route53.listRecordSets(zoneID: zone)
        #expect(sets.contains(Route53RecordSet(name: "db.\(system.name).pyre.", type: "A", ttl: 5, values: ["192.0.2.10"])),
                "static records of pyre.yml are in the hosted zone")
        #expect(sets.contains(Route53RecordSet(name: "\(system.name).pyre.", type: "MX", ttl: 5, values: ["10 mail.example.com."])))
        let running = try await ec2.describeInstances(filters: ["tag:pyre:system": [system.name],
                                                                "instance-state-name": ["running"]])
        #expect(Set(running.map(\.id)) == Set(first.map(\.id)))
        #expect(running.allSatisfy { $0.imageID == firstAMI && $0.instanceType == "t3.nano" })

        // A new image on the old AMI: refused, nothing changes.
        try system.setVersion("v2")
        let refused = try await pyre(["deploy", system.directory.path], environment: environment)
        #expect(refused.status != 0)
        #expect(refused.output.contains("run pyre bake"), "\(refused.output)")
        #expect(Set(try await agent.status().services.flatMap(\.servers).map(\.id)) == Set(first.map(\.id)))

        system.image = "ami: { us-east-1: \(secondAMI) }"
        try system.writeManifest(service: "count: 3")
        let rebake = try await pyre(["bake", system.directory.path], environment: environment)
        #expect(rebake.output.contains("\(secondAMI)  tagged pyre:image="), "\(rebake.output)")
        let deploy = try await pyre(["deploy", system.directory.path], environment: environment)
        #expect(deploy.status == 0, "\(deploy.output)")
        let second = try await agent.waitForHealthy(count: 3, excluding: Set(first.map(\.id)))
        #expect(try await webAddresses() == second.map(\.address).sorted())
        let old = try await ec2.describeInstances(filters: ["instance-id": first.map(\.id)])
        #expect(old.count == 3 && old.allSatisfy { ["shutting-down", "terminated"].contains($0.state) })
        let names = Set(try await route53.listRecordSets(zoneID: zone).map(\.name))
        #expect(first.allSatisfy { !names.contains("\($0.id).\(system.name).pyre.") })

        let history = try await pyre(["history", system.directory.path], environment: environment)
        #expect(history.status == 0 && history.output.contains("completed"), "\(history.output)")
        let plan = try await pyre(["plan", system.directory.path], environment: environment)
        #expect(plan.status == 0, "nothing left to do: \(plan.output)")

        try await agent.stop()
        let left = try await ec2.describeInstances(filters: ["tag:pyre:system": [system.name],
                                                             "instance-state-name": ["pending", "running"]])
        #expect(left.isEmpty, "stopping the agent terminates its instances")
        #expect(try await webAddresses().isEmpty, "and takes their records away")
    }
}
