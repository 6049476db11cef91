import Foundation
import Logging
import PyreAWS
import PyreCore
import PyreHealth
import ServiceLifecycle

/// `provider: aws`: EC2 instances for servers, EC2 status checks (then the service's own
/// check, when the agent can reach the instances) for health, and a Route 53 hosted zone
/// private to the servers' VPC for names. The agent serves its events API (HTTPS), syslog over
/// TLS and DNS on its address in the VPC (`aws: agent_address`), and servers are told where
/// through user data, with the CA that checks the agent's certificate.
struct AWSBackend: SystemBackend {
    let ec2: EC2ServerProvider
    let ec2Health: EC2HealthChecker
    let route53: Route53Publisher
    let region: String
    let zone: String
    let network: NetworkTLS
    let dnsPort: Int
    let bakedAMIs: BakedAMIs

    /// Without root, DNS cannot have port 53.
    static let unprivilegedDNSPort = 5353

    /// Resolves credentials, region and endpoints as the AWS CLI does; `aws: region:` and
    /// `aws: endpoint:` in pyre.yml win over the environment.
    init(spec: SystemSpec, network: NetworkTLS, bakedAMIs: BakedAMIs, logger: Logger,
         environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        self.network = network
        self.bakedAMIs = bakedAMIs
        dnsPort = spec.aws.dnsPort ?? (getuid() == 0 ? 53 : Self.unprivilegedDNSPort)
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

    /// The AMI pyre.yml names for the image in this region, or the one `pyre bake` made for a
    /// whole-server image (a deploy checks its `pyre:image` tag either way).
    func imageLocation(of recipe: ImageRecipe, digest: ImageDigest, bakedAt root: URL) throws -> ImageLocation {
        .ami(try AWSSystem.ami(of: recipe, digest: digest, region: region, baked: bakedAMIs))
    }

    /// Each image names its AMI (`ami:`) or has a base that can boot on EC2; syslog over TLS is
    /// the agent's own on AWS.
    func validate(_ spec: SystemSpec) throws {
        for recipe in spec.imagesInUse { try AWSSystem.checkBootable(recipe) }
        if spec.logs.tls != nil {
            throw PyreError(.manifest, "logs: tls: is for provider local; on provider aws the agent serves syslog over TLS "
                + "itself, with its own CA or the certificate under aws: tls:, on aws: syslog_tls_port: (default 6514)")
        }
    }

    var provider: any ServerProvider { ec2 }
    var health: any HealthChecker { ec2Health }
    var publisher: (any ServerPublisher)? { route53 }
    var systemAddress: String { network.address }

    /// The events API over HTTPS with its token, syslog over TLS (RFC 5425), DNS, and the CA
    /// certificate that checks the first two. RELP and plain syslog stay on the agent's loopback.
    func serverEnvironment(_ services: AgentServiceAddresses) -> [String: String] {
        var environment = ["PYRE_DNS": services.dns, "PYRE_EVENTS_URL": services.eventsURL,
                           "PYRE_EVENTS_TOKEN": services.eventsToken]
        environment["PYRE_LOGS"] = services.syslogTLS
        environment["PYRE_CA"] = services.caPEM
        return environment
    }

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
    var startupLines: [String] {
        ["servers are EC2 instances; their names are in the Route 53 hosted zone \(zone) (private to the VPC)",
         "servers reach the agent at \(network.address) over TLS (CA: \(network.certificatePath))"]
    }

    /// Instances are adopted by the next start, as after any agent restart.
    func teardown() async throws {}
}
