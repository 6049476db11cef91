import Foundation
import Logging
import PyreCore
import PyreDeploy
import PyreTesting
import Testing
@testable import PyreAWS

/// The deploy engine on AWS, against moto: EC2 instances as servers, EC2 status checks as
/// their health and Route 53 as their names. A service of three, then a redeploy from a new AMI.
@Suite struct AWSRedeployTests {
    static let oldImage = ImageDigest("sha256:" + String(repeating: "1", count: 64))
    static let newImage = ImageDigest("sha256:" + String(repeating: "2", count: 64))

    static func web(_ image: ImageDigest, ami: String) -> DesiredService {
        var spec = ServiceSpec(name: "web", image: "web", count: 3, port: 8080)
        spec.health.interval = .milliseconds(50)
        return DesiredService(spec: spec, image: image, imageLocation: .ami(ami),
                              command: ["python3", "app.py"], env: [:], configHash: "0123456789abcdef")
    }

    @Test func redeployWithANewAMIReplacesInstancesAndRecordsInOneChange() async throws {
        let moto = try await MotoServer.shared()
        let calls = Recorder<[String]>([])
        var logger = Logger(label: "test") { _ in CapturingLogHandler(lines: calls) }
        logger.logLevel = .debug
        let client = AWSClient(configuration: moto.configuration(), logger: logger)
        let ec2 = EC2Client(client: client)
        let route53 = Route53Client(client: client)
        let amis = try await MotoServer.shared().amazonAMIs()
        let system = EC2ClientTests.uniqueName("redeploy")
        let zone = "\(system).pyre.test."
        let provider = EC2ServerProvider(ec2: ec2, configuration: .init(system: system))
        let publisher = Route53Publisher(route53: route53, zone: zone, ttl: 5, logger: logger)
        let reconciler = Reconciler(configuration: ReconcilerConfiguration(system: system, zone: zone), provider: provider,
                                    journal: FakeEventJournal(), health: EC2HealthChecker(provider: provider, probe: nil),
                                    publisher: publisher, state: AgentState(replaying: []), logger: logger)
        func count(_ operation: String) -> Int {
            calls.value.filter { $0.contains("AWS call") && $0.contains(operation) }.count
        }
        func webRecords() async throws -> [String] {
            let sets = try await route53.listRecordSets(zoneID: try await publisher.hostedZone())
            return sets.first { $0.name == "web.\(zone)" && $0.type == "A" }?.values.sorted() ?? []
        }

        let first = try await reconciler.deploy([Self.web(Self.oldImage, ami: amis[0])], trigger: .manual) { _ in }
        #expect(first.outcome == .completed)
        let old = try await provider.list()
        #expect(old.count == 3 && old.allSatisfy { $0.image == Self.oldImage })
        #expect(try await webRecords() == old.map(\.address).sorted())

        let (runs, changes, terminations) = (count("RunInstances"), count("ChangeResourceRecordSets"), count("TerminateInstances"))
        let second = try await reconciler.deploy([Self.web(Self.newImage, ami: amis[1])], trigger: .manual) { _ in }
        #expect(second.outcome == .completed)
        #expect(count("RunInstances") == runs + 1, "the three new instances start with one call")
        #expect(count("ChangeResourceRecordSets") == changes + 1, "the records are replaced in one change")
        #expect(count("TerminateInstances") == terminations + 1, "the old instances go with one call")

        let live = try await provider.list()
        #expect(live.count == 3 && Set(live.map(\.id)).isDisjoint(with: old.map(\.id)))
        #expect(live.allSatisfy { $0.image == Self.newImage && $0.state == .running })
        let gone = try await ec2.describeInstances(filters: ["instance-id": old.map(\.id.rawValue)])
        #expect(gone.count == 3 && gone.allSatisfy { ["shutting-down", "terminated"].contains($0.state) })
        #expect(try await webRecords() == live.map(\.address).sorted())
        let names = Set(try await route53.listRecordSets(zoneID: try await publisher.hostedZone()).map(\.name))
        #expect(old.allSatisfy { !names.contains("\($0.id.rawValue).\(zone)") }, "no record of an old server is left")
    }

    /// Phoenix servers on AWS: an instance older than the service's `max_age` is replaced by
    /// the agent's periodic pass, the same engine code as for local servers.
    @Test func anInstanceOlderThanMaxAgeIsReplaced() async throws {
        let moto = try await MotoServer.shared()
        let client = AWSClient(configuration: moto.configuration(), logger: Logger(label: "test"))
        let ec2 = EC2Client(client: client)
        let system = EC2ClientTests.uniqueName("phoenix")
        let zone = "\(system).pyre.test."
        let provider = EC2ServerProvider(ec2: ec2, configuration: .init(system: system))
        let ami = try await EC2ClientTests.someAMI()
        let reconciler = Reconciler(
            configuration: ReconcilerConfiguration(system: system, zone: zone), provider: provider,
            journal: FakeEventJournal(), health: EC2HealthChecker(provider: provider, probe: nil),
            publisher: Route53Publisher(route53: Route53Client(client: client), zone: zone, ttl: 5, logger: Logger(label: "test")),
            state: AgentState(replaying: []), logger: Logger(label: "test"))
        var web = Self.web(Self.oldImage, ami: ami)
        web.spec.count = 1
        web.spec.maxAge = .seconds(2)
        #expect(try await reconciler.deploy([web], trigger: .manual) { _ in }.outcome == .completed)
        let first = try await provider.list()
        try #require(first.count == 1)

        // EC2 reports launch times in whole seconds: wait until the instance is surely old.
        try await Task.sleep(for: .seconds(3))
        await reconciler.tick([web])
        let replaced = try await provider.list()
        #expect(replaced.count == 1 && replaced[0].id != first[0].id, "the old instance was replaced")
        #expect(await reconciler.state.deployments.last?.trigger == .phoenix)
        _ = await provider.destroy(batch: replaced.map(\.id))
    }
}
