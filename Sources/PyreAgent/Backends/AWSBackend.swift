import Foundation
import Logging
import PyreAWS
import PyreCore
import PyreHealth
import ServiceLifecycle

/// `provider: aws`: EC2 instances for servers, EC2 status checks (then the service's own
/// check, when the agent can reach the instances) for health, and a Route 53 hosted zone
/// private to the servers' VPC for names. Instances cannot reach this machine's loopback, so the agent's own DNS and
/// entry points serve this machine only, DNS on a port of its own choosing.
struct AWSBackend: SystemBackend {
    let ec2: EC2ServerProvider
    let ec2Health: EC2HealthChecker
    let route53: Route53Publisher
    let region: String
    let zone: String

    /// Resolves credentials, region and endpoints as the AWS CLI does; `aws: region:` and
    /// `aws: endpoint:` in pyre.yml win over the environment.
    init(spec: SystemSpec, logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let configuration = try AWSSystem.configuration(for: spec, environment: environment)
        let client = AWSClient(configuration: configuration, logger: logger)
        region = configuration.region
        zone = spec.zone
        ec2 = EC2ServerProvider(ec2: EC2Client(client: client), configuration: .init(
            system: spec.name, instanceType: spec.aws.instanceType, subnetID: spec.aws.subnet,
            securityGroupIDs: spec.aws.securityGroups))
        ec2Health = EC2HealthChecker(provider: ec2, probe: spec.aws.probeServices ? NetworkHealthChecker() : nil)
        let ec2Client = EC2Client(client: client)
        let (vpc, subnet, region) = (spec.aws.vpc, spec.aws.subnet, configuration.region)
        route53 = Route53Publisher(route53: Route53Client(client: client), zone: spec.zone,
                                   ttl: Int(spec.dns.ttl.components.seconds), logger: logger, privateTo: {
            Route53Client.VPC(id: try await ec2Client.systemVPC(vpc: vpc, subnet: subnet), region: region)
        })
    }

    /// The AMI pyre.yml names for the image in this region (`pyre bake` makes sure it holds it).
    func imageLocation(of recipe: ImageRecipe, bakedAt root: URL) throws -> ImageLocation {
        .ami(try AWSSystem.ami(of: recipe, region: region))
    }

    /// Each image names its AMI (`ami:`), checked when it is baked.
    func validate(_ spec: SystemSpec) throws {}

    var provider: any ServerProvider { ec2 }
    var health: any HealthChecker { ec2Health }
    var publisher: (any ServerPublisher)? { route53 }
    var systemAddress: String { "127.0.0.1" }
    var dnsPort: Int { 0 }

    /// The agent's services listen on its loopback, out of the instances' reach.
    func serverEnvironment(_ services: AgentServiceAddresses) -> [String: String] { [:] }

    func prepare() async throws {}

    /// The services' AMIs exist and were baked from their images; the zone's static records
    /// are the manifest's.
    func prepareDeploy(_ spec: SystemSpec, services: [DesiredService]) async throws {
        var amis: [ImageDigest: String] = [:]
        for service in services { if case .ami(let ami) = service.imageLocation { amis[service.image] = ami } }
        try await ec2.verifyImages(amis)
        await route53.setStaticRecords(spec.dns.records, defaultTTL: spec.dns.ttl)
    }

    func tick() async { await route53.resync() }

    var services: [any Service] { [] }
    var startupLines: [String] { ["servers are EC2 instances; their names are in the Route 53 hosted zone \(zone)"] }

    /// Instances are adopted by the next start, as after any agent restart.
    func teardown() async throws {}
}
