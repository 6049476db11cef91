import Foundation
import Logging
import PyreAWS
import PyreCore
import PyreHealth
import ServiceLifecycle

/// `provider: aws`: EC2 instances for servers, EC2 status checks (then the service's own
/// check, when the agent can reach the instances) for health, and a Route 53 hosted zone
/// for names. Instances cannot reach this machine's loopback, so the agent's own DNS and
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
        var environment = environment
        if let region = spec.aws.region { environment["AWS_REGION"] = region }
        if let endpoint = spec.aws.endpoint { environment["AWS_ENDPOINT_URL"] = endpoint }
        let configuration: AWSConfiguration
        do {
            configuration = try AWSConfiguration.resolve(environment: environment)
        } catch {
            throw PyreError(.provider, "provider: aws needs AWS credentials and a region: \(error)")
        }
        let client = AWSClient(configuration: configuration, logger: logger)
        region = configuration.region
        zone = spec.zone
        ec2 = EC2ServerProvider(ec2: EC2Client(client: client), configuration: .init(
            system: spec.name, instanceType: spec.aws.instanceType, subnetID: spec.aws.subnet,
            securityGroupIDs: spec.aws.securityGroups))
        ec2Health = EC2HealthChecker(provider: ec2, probe: spec.aws.probeServices ? NetworkHealthChecker() : nil)
        route53 = Route53Publisher(route53: Route53Client(client: client), zone: spec.zone,
                                     ttl: Int(spec.dns.ttl.components.seconds), logger: logger)
    }

    /// The AMI pyre.yml names for the image in this region (`pyre bake` makes sure it holds it).
    func imageLocation(of recipe: ImageRecipe, bakedAt root: URL) throws -> ImageLocation { .ami(try ami(of: recipe)) }

    func ami(of recipe: ImageRecipe) throws -> String {
        guard let ami = recipe.amis[region] else {
            throw PyreError(.provider, "image \(recipe.name) has no AMI for region \(region): add "
                + "ami: { \(region): ami-… } under images.\(recipe.name) in pyre.yml, then run pyre bake")
        }
        return ami
    }

    /// The AMI of each image in `digests` (by image name), in this region.
    func amis(for spec: SystemSpec, digests: [String: ImageDigest]) throws -> [ImageDigest: String] {
        var amis: [ImageDigest: String] = [:]
        for recipe in spec.images {
            guard let digest = digests[recipe.name] else { continue }
            amis[digest] = try ami(of: recipe)
        }
        return amis
    }

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

/// `pyre bake` for `provider: aws`: records each image's digest on its AMI for the region
/// (the `pyre:image` tag), which a deploy then insists on. Returns the AMIs by image name.
public func recordAWSBakes(_ spec: SystemSpec, digests: [String: ImageDigest], logger: Logger,
                           environment: [String: String] = ProcessInfo.processInfo.environment) async throws -> [String: String] {
    let aws = try AWSBackend(spec: spec, logger: logger, environment: environment)
    let amis = try aws.amis(for: spec, digests: digests)
    try await aws.ec2.recordBakes(amis)
    return Dictionary(uniqueKeysWithValues: digests.compactMap { name, digest in amis[digest].map { (name, $0) } })
}
